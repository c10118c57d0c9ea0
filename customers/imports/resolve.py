"""A batch's references to customers, vehicles and households: one query per relation per batch."""

from __future__ import annotations

from django.utils.translation import gettext as _

from crm.models import Tenant
from customers.imports.kinds import KIND_SPECS
from customers.imports.report import RowError
from customers.imports.validate import Row
from customers.models import Customer, Household, Vehicle


def resolve(batch: list[Row], *, tenant: Tenant, kind: str) -> list[tuple[Row, list[RowError]]]:
    """Resolve customer / vehicle / household references of a batch with one query per relation."""
    refs = KIND_SPECS[kind].refs
    customer_refs = {r.customer_ref for r in batch if r.customer_ref}
    customer_ids = {r.customer_id for r in batch if r.customer_id}
    vehicle_refs = {r.vehicle_ref for r in batch if r.vehicle_ref}
    vehicle_ids = {r.vehicle_id for r in batch if r.vehicle_id}
    household_ids = {r.values["household_id"] for r in batch if r.values.get("household_id")}
    customers_by_ref, customers_by_id, vehicles_by_ref, vehicles_by_id = {}, set(), {}, {}
    if customer_refs:
        customers_by_ref = dict(
            Customer.objects.for_tenant(tenant)
            .filter(external_ref__in=customer_refs)
            .values_list("external_ref", "pk")
        )
    if customer_ids:
        customers_by_id = set(
            Customer.objects.for_tenant(tenant).filter(pk__in=customer_ids).values_list("pk", flat=True)
        )
    vehicle_cols = ("pk", "external_ref", "customer_id", "inspection_expiry", "mileage")
    if vehicle_refs:
        for v in (
            Vehicle.objects.for_tenant(tenant).filter(external_ref__in=vehicle_refs).values(*vehicle_cols)
        ):
            vehicles_by_ref[v["external_ref"]] = v
    if vehicle_ids:
        for v in Vehicle.objects.for_tenant(tenant).filter(pk__in=vehicle_ids).values(*vehicle_cols):
            vehicles_by_id[v["pk"]] = v
    households = set()
    if household_ids:
        households = set(
            Household.objects.for_tenant(tenant).filter(pk__in=household_ids).values_list("pk", flat=True)
        )
    out = []
    for row in batch:
        errors: list[RowError] = []
        vehicle = None
        if row.vehicle_ref:
            vehicle = vehicles_by_ref.get(row.vehicle_ref)
            if vehicle is None:
                errors.append(
                    RowError(row.line, "vehicle_external_ref", _("No vehicle with this reference."))
                )
        elif row.vehicle_id:
            vehicle = vehicles_by_id.get(row.vehicle_id)
            if vehicle is None:
                errors.append(RowError(row.line, "vehicle", _("No vehicle with this id.")))
        customer_id = None
        if row.customer_ref:
            customer_id = customers_by_ref.get(row.customer_ref)
            if customer_id is None:
                errors.append(
                    RowError(row.line, "customer_external_ref", _("No customer with this reference."))
                )
        elif row.customer_id:
            customer_id = row.customer_id if row.customer_id in customers_by_id else None
            if customer_id is None:
                errors.append(RowError(row.line, "customer", _("No customer with this id.")))
        elif vehicle is not None:
            customer_id = vehicle["customer_id"]  # a service is for the vehicle's owner
        if vehicle is not None and customer_id is not None and vehicle["customer_id"] != customer_id:
            errors.append(
                RowError(row.line, "vehicle_external_ref", _("This vehicle belongs to another customer."))
            )
        if "customer" in refs:
            row.values["customer_id"] = customer_id
        if "vehicle" in refs:
            row.values["vehicle_id"] = vehicle["pk"] if vehicle else None
            row.vehicle = vehicle
        hh = row.values.get("household_id")
        if hh and hh not in households:
            errors.append(RowError(row.line, "household", _("No household with this id.")))
        out.append((row, errors))
    return out
