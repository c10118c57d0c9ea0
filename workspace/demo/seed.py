"""One tenant's demo data, generated in Python and bulk-loaded in one transaction."""

from __future__ import annotations

from datetime import date

from django.db import transaction

from crm.db.bulk import analyze_tables, bulk_insert, reset_sequences
from crm.models import Tenant
from customers.models import Customer, CustomerTag, Household, Purchase, ServiceRecord, Tag, Vehicle
from interactions.models import CallTask, Deal, Interaction
from workspace.demo.contacts import CALLTASK_COLUMNS, DEAL_COLUMNS, INTERACTION_COLUMNS
from workspace.demo.generator import DemoGenerator
from workspace.demo.history import PURCHASE_COLUMNS, SERVICE_COLUMNS
from workspace.demo.people import CUSTOMER_COLUMNS, HOUSEHOLD_COLUMNS, TAG_NAMES, generate_customers
from workspace.demo.replacements import add_replacements
from workspace.demo.vehicles import VEHICLE_COLUMNS


@transaction.atomic
def seed_tenant(
    *,
    tenant: Tenant,
    kind: str,
    customers: int,
    years: int,
    seed: int,
    today: date,
    staff_ids: list[int],
    stream: int = 0,
) -> dict[str, int]:
    """Generate and bulk-load one tenant's demo rows. Returns the row count per table."""
    Tag.objects.bulk_create([Tag(tenant=tenant, name=n) for n in TAG_NAMES], ignore_conflicts=True)
    generator = DemoGenerator(
        tenant=tenant,
        kind=kind,
        customers=customers,
        years=years,
        seed=seed,
        today=today,
        staff_ids=staff_ids,
        stream=stream,
    )
    generator.tag_ids = list(Tag.objects.for_tenant(tenant).order_by("name").values_list("pk", flat=True))
    data = generate_customers(generator)
    add_replacements(generator, seed=seed)  # after the rest: its own random stream
    counts = {
        "households": bulk_insert(Household, HOUSEHOLD_COLUMNS, data.households),
        "customers": bulk_insert(Customer, CUSTOMER_COLUMNS, data.customers),
        "customer_tags": bulk_insert(CustomerTag, ["tenant_id", "customer_id", "tag_id"], data.customer_tags),
        "vehicles": bulk_insert(Vehicle, VEHICLE_COLUMNS, data.vehicles),
        "purchases": bulk_insert(Purchase, PURCHASE_COLUMNS, data.purchases),
        "service_records": bulk_insert(ServiceRecord, SERVICE_COLUMNS, data.services),
        "interactions": bulk_insert(Interaction, INTERACTION_COLUMNS, data.interactions),
        "deals": bulk_insert(Deal, DEAL_COLUMNS, data.deals),
        "call_tasks": bulk_insert(CallTask, CALLTASK_COLUMNS, data.call_tasks),
    }
    loaded = (Household, Customer, CustomerTag, Vehicle, Purchase, ServiceRecord, Interaction, Deal, CallTask)
    reset_sequences(*loaded)
    analyze_tables(*loaded)
    return counts
