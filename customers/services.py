"""Write use-cases of the customer record. Views, API views, tasks and commands call these."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.common.errors import ApplicationError
from crm.common.services import model_update
from crm.models import AuditAction, Tenant, User
from crm.security.audit import audit_record, field_changes
from crm.tenancy.handover import MemberWorkload, member_work_reassign
from crm.tenancy.selectors import tenant_users, tenant_workers
from customers.models import (
    SERVICE_INTERVAL_MONTHS,
    Consent,
    Customer,
    CustomerTag,
    Handover,
    Household,
    Purchase,
    PurchaseCategory,
    ServiceKind,
    ServiceRecord,
    Tag,
    Vehicle,
)

AUDIT_MAX_IDS = 1_000  # a bulk action's audit event lists at most this many customer ids

CUSTOMER_FIELDS = [
    "external_ref",
    "family_name",
    "given_name",
    "family_name_kana",
    "given_name_kana",
    "email",
    "language",
    "phone",
    "postal_code",
    "prefecture",
    "address",
    "birthday",
    "gender",
    "household",
    "acquisition_channel",
    "acquisition_cost",
    "assigned_staff",
    "notes",
]
VEHICLE_FIELDS = [
    "customer",
    "external_ref",
    "maker",
    "model_name",
    "grade",
    "model_year",
    "plate_number",
    "vin",
    "first_registration",
    "inspection_expiry",
    "mileage",
    "status",
]
PURCHASE_FIELDS = [
    "customer",
    "vehicle",
    "external_ref",
    "date",
    "category",
    "amount",
    "gross_profit",
    "is_refund",
    "description",
]
SERVICE_FIELDS = [
    "customer",
    "vehicle",
    "external_ref",
    "date",
    "kind",
    "amount",
    "gross_profit",
    "mileage",
    "next_due",
    "notes",
]


def _check_staff(tenant: Tenant, user: User | None, field: str) -> None:
    if user is not None and not tenant_users(tenant=tenant).filter(pk=user.pk).exists():
        from django.core.exceptions import ValidationError

        raise ValidationError({field: _("Select a member of this shop.")})


def purchase_categories_create_defaults(*, tenant: Tenant) -> None:
    PurchaseCategory.objects.bulk_create(
        [
            PurchaseCategory(tenant=tenant, code=code, name=str(name))
            for code, name in PurchaseCategory.DEFAULTS
        ],
        ignore_conflicts=True,
    )


# --- customers ----------------------------------------------------------------------------------
@transaction.atomic
def customer_create(
    *,
    tenant: Tenant,
    tags: list[str] | None = None,
    consent: str = Consent.UNKNOWN,
    consent_source: str = "",
    **fields: Any,
) -> Customer:
    """Create a customer. Consent given at creation is recorded with its time and source."""
    unknown = set(fields) - set(CUSTOMER_FIELDS)
    if unknown:
        raise TypeError(f"Unknown customer fields: {sorted(unknown)}")
    _check_staff(tenant, fields.get("assigned_staff"), "assigned_staff")
    customer = Customer(tenant=tenant, **fields)
    if consent == Consent.OPTED_IN:
        customer.consent, customer.consent_at, customer.consent_source = (
            consent,
            timezone.now(),
            consent_source,
        )
    elif consent == Consent.OPTED_OUT:
        customer.consent, customer.opted_out_at, customer.consent_source = (
            consent,
            timezone.now(),
            consent_source,
        )
    customer.full_clean()
    customer.save()
    if tags:
        customer_set_tags(tenant=tenant, customer=customer, names=tags)
    audit_record(
        tenant=tenant,
        action=AuditAction.CUSTOMER_CREATED,
        target=customer,
        summary=f"Customer #{customer.pk}",
        changes=field_changes(
            {}, {f: v for f, v in fields.items() if v not in (None, "")} | {"consent": customer.consent}
        ),
    )
    return customer


@transaction.atomic
def customer_update(*, tenant: Tenant, customer: Customer, data: dict[str, Any]) -> Customer:
    if customer.tenant_id != tenant.pk:
        raise ApplicationError(_("Customer not found."))
    if "assigned_staff" in data:
        _check_staff(tenant, data["assigned_staff"], "assigned_staff")
    before = {f: getattr(customer, f) for f in CUSTOMER_FIELDS if f in data}
    tags_before = sorted(customer.tags.values_list("name", flat=True)) if "tags" in data else None
    customer, _changed = model_update(instance=customer, fields=CUSTOMER_FIELDS, data=data)
    changes = field_changes(before, {f: getattr(customer, f) for f in before})
    if "tags" in data:
        customer_set_tags(tenant=tenant, customer=customer, names=data["tags"])
        tags_after = sorted(customer.tags.values_list("name", flat=True))
        if tags_after != tags_before:
            changes["tags"] = [tags_before, tags_after]
    if changes:
        audit_record(
            tenant=tenant,
            action=AuditAction.CUSTOMER_CHANGED,
            target=customer,
            summary=f"Customer #{customer.pk}: {', '.join(sorted(changes))}",
            changes=changes,
        )
    return customer


@transaction.atomic
def customer_set_consent(*, tenant: Tenant, customer: Customer, consent: str, source: str) -> Customer:
    """Record an opt-in or opt-out with its time and where it came from (form, phone, unsubscribe link…)."""
    now = timezone.now()
    customer = Customer.objects.for_tenant(tenant).select_for_update().get(pk=customer.pk)
    previous = customer.consent
    customer.consent = consent
    customer.consent_source = source[:100]
    if consent == Consent.OPTED_IN:
        customer.consent_at = now
        customer.opted_out_at = None
    elif consent == Consent.OPTED_OUT:
        customer.opted_out_at = now
    customer.full_clean()
    customer.save(update_fields=["consent", "consent_at", "consent_source", "opted_out_at", "updated_at"])
    audit_record(
        tenant=tenant,
        action=AuditAction.CONSENT_CHANGED,
        target=customer,
        summary=f"Customer #{customer.pk}: {previous} → {consent}",
        changes={"consent": [previous, consent], "consent_source": customer.consent_source},
    )
    return customer


@transaction.atomic
def customer_set_tags(*, tenant: Tenant, customer: Customer, names: list[str]) -> None:
    names = sorted({n.strip() for n in names if n and n.strip()})
    Tag.objects.bulk_create([Tag(tenant=tenant, name=n) for n in names], ignore_conflicts=True)
    tags = list(Tag.objects.for_tenant(tenant).filter(name__in=names))
    CustomerTag.objects.for_tenant(tenant).filter(customer=customer).exclude(tag__in=tags).delete()
    CustomerTag.objects.bulk_create(
        [CustomerTag(tenant=tenant, customer=customer, tag=t) for t in tags], ignore_conflicts=True
    )


@transaction.atomic
def customers_add_tag(*, tenant: Tenant, customer_ids: list[int], name: str) -> int:
    """Bulk action: tag many customers at once. Returns how many customers were tagged."""
    Tag.objects.bulk_create([Tag(tenant=tenant, name=name.strip())], ignore_conflicts=True)
    tag = Tag.objects.for_tenant(tenant).get(name=name.strip())
    ids = list(Customer.objects.for_tenant(tenant).filter(pk__in=customer_ids).values_list("pk", flat=True))
    CustomerTag.objects.bulk_create(
        [CustomerTag(tenant=tenant, customer_id=pk, tag=tag) for pk in ids], ignore_conflicts=True
    )
    audit_record(
        tenant=tenant,
        action=AuditAction.CUSTOMERS_BULK_CHANGED,
        target_type="customers.customer",
        summary=f"Tag added to {len(ids)} customers",
        changes={"tag_added": tag.name, "customer_ids": ids[:AUDIT_MAX_IDS]},
    )
    return len(ids)


@transaction.atomic
def customers_assign(*, tenant: Tenant, customer_ids: list[int], staff: User | None) -> int:
    """Bulk action: assign many customers to one staff member."""
    _check_staff(tenant, staff, "assigned_staff")
    ids = list(Customer.objects.for_tenant(tenant).filter(pk__in=customer_ids).values_list("pk", flat=True))
    moved = (
        Customer.objects.for_tenant(tenant)
        .filter(pk__in=ids)
        .update(assigned_staff=staff, updated_at=timezone.now())
    )
    audit_record(
        tenant=tenant,
        action=AuditAction.CUSTOMERS_BULK_CHANGED,
        target_type="customers.customer",
        summary=f"{moved} customers assigned",
        changes={"assigned_staff": [None, staff.pk if staff else None], "customer_ids": ids[:AUDIT_MAX_IDS]},
    )
    return moved


@transaction.atomic
def household_create(*, tenant: Tenant, name: str, notes: str = "") -> Household:
    household = Household(tenant=tenant, name=name, notes=notes)
    household.full_clean()
    household.save()
    return household


# A handover (the settings page) moves a staff member's customers and the deals they are selling
# ("open_deals", registered by interactions); their open calls go along only when they leave the shop
# (crm.tenancy.services.membership_remove hands over every kind of work).
CUSTOMER_HANDOVER_WORK = ("customers", "open_deals")


def customers_reassign(*, tenant: Tenant, from_user: User, to_user: User, now: datetime) -> int:
    """Give every customer `from_user` looks after to `to_user` (this app's part of a handover)."""
    return (
        Customer.objects.for_tenant(tenant)
        .filter(assigned_staff=from_user)
        .update(assigned_staff=to_user, updated_at=now)
    )


@transaction.atomic
def customers_handover(*, tenant: Tenant, from_user: User, to_user: User, performed_by: User) -> Handover:
    """Move every customer and open deal of a leaving staff member to another, in one step, recorded.

    The deals are interactions' work: they move through crm.tenancy.handover, where interactions
    registered how.
    """
    members = tenant_users(tenant=tenant)
    if (
        not members.filter(pk=from_user.pk).exists()
        and not Customer.objects.for_tenant(tenant).filter(assigned_staff=from_user).exists()
    ):
        raise ApplicationError(_("That staff member has no customers here."))
    if not tenant_workers(tenant=tenant).filter(pk=to_user.pk).exists():
        raise ApplicationError(_("Hand over to a member of this shop who works with customers."))
    if from_user.pk == to_user.pk:
        raise ApplicationError(_("Choose a different staff member to hand over to."))
    moved = member_work_reassign(
        tenant=tenant, from_user=from_user, to_user=to_user, names=CUSTOMER_HANDOVER_WORK
    )
    return handover_record(
        tenant=tenant, from_user=from_user, to_user=to_user, performed_by=performed_by, moved=moved
    )


def handover_record(
    *, tenant: Tenant, from_user: User, to_user: User, performed_by: User, moved: MemberWorkload
) -> Handover:
    """Record a handover that has moved `moved`: the `Handover` row and its audit event."""
    customers_moved, deals_moved = moved.get("customers", 0), moved.get("open_deals", 0)
    handover = Handover.objects.create(
        tenant=tenant,
        from_user=from_user,
        to_user=to_user,
        performed_by=performed_by,
        customers_moved=customers_moved,
        deals_moved=deals_moved,
    )
    audit_record(
        tenant=tenant,
        action=AuditAction.HANDOVER_RUN,
        target=handover,
        actor=performed_by,
        summary=f"{from_user.email} → {to_user.email}: {customers_moved} customers, {deals_moved} deals",
        changes={
            "from_user": from_user.pk,
            "to_user": to_user.pk,
            "customers_moved": customers_moved,
            "deals_moved": deals_moved,
        },
    )
    return handover


def member_handover_record(
    *, tenant: Tenant, from_user: User, to_user: User, performed_by: User, moved: MemberWorkload
) -> None:
    """After a member left and their work went to a successor (registered in apps.py): a handover
    record when customers or deals moved, as the handover page would have written."""
    if moved.get("customers", 0) or moved.get("open_deals", 0):
        handover_record(
            tenant=tenant, from_user=from_user, to_user=to_user, performed_by=performed_by, moved=moved
        )


# --- vehicles, purchases, services ----------------------------------------------------------------
@transaction.atomic
def vehicle_create(*, tenant: Tenant, **fields: Any) -> Vehicle:
    vehicle = Vehicle(tenant=tenant, **fields)
    vehicle.full_clean()
    vehicle.save()
    return vehicle


@transaction.atomic
def vehicle_update(*, tenant: Tenant, vehicle: Vehicle, data: dict[str, Any]) -> Vehicle:
    if vehicle.tenant_id != tenant.pk:
        raise ApplicationError(_("Vehicle not found."))
    vehicle, _changed = model_update(instance=vehicle, fields=VEHICLE_FIELDS, data=data)
    return vehicle


@transaction.atomic
def purchase_create(*, tenant: Tenant, **fields: Any) -> Purchase:
    purchase = Purchase(tenant=tenant, **fields)
    purchase.full_clean()
    purchase.save()
    return purchase


def next_due_for(kind: str, on: date) -> date | None:
    months = SERVICE_INTERVAL_MONTHS.get(ServiceKind(kind))
    return on + relativedelta(months=months) if months else None


@transaction.atomic
def service_record_create(*, tenant: Tenant, **fields: Any) -> ServiceRecord:
    """Record a service. A 車検 also moves the vehicle's inspection expiry two years on."""
    record = ServiceRecord(tenant=tenant, **fields)
    if record.next_due is None and record.date and record.kind:
        record.next_due = next_due_for(record.kind, record.date)
    record.full_clean()
    record.save()
    if record.kind == ServiceKind.SHAKEN:
        vehicle = record.vehicle
        base = (
            vehicle.inspection_expiry
            if vehicle.inspection_expiry and vehicle.inspection_expiry > record.date
            else record.date
        )
        new_expiry = base + relativedelta(years=2)
        if vehicle.inspection_expiry is None or new_expiry > vehicle.inspection_expiry:
            vehicle.inspection_expiry = new_expiry
            vehicle.save(update_fields=["inspection_expiry", "updated_at"])
    if record.mileage and (record.vehicle.mileage or 0) < record.mileage:
        record.vehicle.mileage = record.mileage
        record.vehicle.save(update_fields=["mileage", "updated_at"])
    return record
