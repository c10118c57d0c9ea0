"""APPI (個人情報保護法) requests about one customer: disclosure of their data, and erasure.

* `customer_export_personal_data` — everything the shop holds about one customer, as a JSON document
  (開示請求); `personal_data_csv_rows` gives the same as one CSV with a section column, the form a
  customer can open in Excel.
* `customer_erase` — removes or anonymises the personal fields (利用停止・消去請求). The customer row,
  purchases and service records stay with their amounts and dates, so revenue, RFM, LTV and the KPI
  tree add up exactly as before; what identifies the person (names, contact, address, birthday,
  free-text notes, plate and chassis numbers, interaction and deal texts) is gone.

Both are audited; the audit event of an erasure names the customer by id only.

The customer record owns these requests, but the apps above it hold personal data too (interactions,
deals, reminders, analytics scores). Each of them registers a `PersonalDataPart` here from its
AppConfig.ready(): its sections of the disclosure and its share of the erasure, run in the same
transaction. The record never imports them, and a new app that stores personal data adds its own part.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.common.errors import ApplicationError
from crm.models import AuditAction, AuditEvent, IdempotentRequest, Tenant, User
from crm.security.audit import audit_record
from customers.models import (
    Consent,
    Customer,
    CustomerTag,
    Gender,
    Household,
    Purchase,
    ServiceRecord,
    Vehicle,
)
from customers.services import VEHICLE_FIELDS


@dataclass(frozen=True)
class PersonalDataPart:
    """One app's share of a customer's personal data.

    export(*, tenant, customer) -> {section: data}: the app's sections of the disclosure, JSON-ready
        (`personal_rows` makes rows of a queryset).
    erase(*, tenant, customer, now) -> {counter: n}: removes or anonymises what identifies the customer
        in the app's rows; the counts go into the erasure's audit event.
    """

    export: Callable[..., dict[str, Any]]
    erase: Callable[..., dict[str, int]]


_parts: list[PersonalDataPart] = []


def register_personal_data(part: PersonalDataPart) -> None:
    """Called from an app's AppConfig.ready(); parts run in app order (INSTALLED_APPS)."""
    if part not in _parts:
        _parts.append(part)


class ErasureReason(models.TextChoices):
    """Why a customer was erased. A choice, not free text: the audit trail must not hold personal data."""

    CUSTOMER_REQUEST = "customer_request", gettext_lazy("The customer asked (APPI request)")
    NO_LONGER_NEEDED = "no_longer_needed", gettext_lazy("No longer needed (retention period over)")
    OTHER = "other", gettext_lazy("Other lawful reason")


ERASED_NAME = "削除済み顧客"  # "erased customer": the display name left on an erased record
ERASED_TEXT = "（削除済み）"  # stands in for required free text (interaction summary, deal title)
ERASED_HOUSEHOLD = "削除済み世帯"

PROFILE_FIELDS = [
    "id", "external_ref", "family_name", "given_name", "family_name_kana", "given_name_kana", "email",
    "phone", "postal_code", "prefecture", "address", "birthday", "gender", "acquisition_channel",
    "consent", "consent_at", "consent_source", "opted_out_at", "notes", "created_at", "updated_at",
    "erased_at",
]  # fmt: skip


def plain(value: Any) -> Any:
    """A value as JSON has it; datetimes in the shop's time zone."""
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat() if timezone.is_aware(value) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def personal_rows(qs, fields: list[str]) -> list[dict[str, Any]]:
    """The rows of `qs` as JSON-ready dicts of `fields`."""
    return [{k: plain(v) for k, v in row.items()} for row in qs.values(*fields)]


def customer_export_personal_data(*, tenant: Tenant, customer: Customer, request=None) -> dict[str, Any]:
    """Everything held about one customer, as plain JSON-ready data (APPI disclosure). Audited.

    Other household members are other people: only the household's own name is included.
    """
    if customer.tenant_id != tenant.pk:
        raise ApplicationError(_("Customer not found."))
    customer = (
        Customer.objects.for_tenant(tenant).select_related("household", "assigned_staff").get(pk=customer.pk)
    )
    profile = {f: plain(getattr(customer, f)) for f in PROFILE_FIELDS}
    profile["assigned_staff"] = str(customer.assigned_staff) if customer.assigned_staff else None
    profile["tags"] = sorted(
        CustomerTag.objects.for_tenant(tenant).filter(customer=customer).values_list("tag__name", flat=True)
    )
    consent_history = [
        {"at": plain(e["created_at"]), "action": e["action"], "changes": e["changes"]}
        for e in AuditEvent.objects.for_tenant(tenant)
        .filter(
            target_type="customers.customer",
            target_id=customer.pk,
            action__in=[AuditAction.CUSTOMER_CREATED, AuditAction.CONSENT_CHANGED],
        )
        .order_by("created_at", "id")
        .values("created_at", "action", "changes")
    ]
    scoped = {"customer": customer}
    data: dict[str, Any] = {
        "shop": {"name": tenant.name, "address": tenant.address, "phone": tenant.phone},
        "generated_at": plain(timezone.now()),
        "profile": profile,
        "household": {"id": customer.household_id, "name": customer.household.name}
        if customer.household_id
        else None,
        "consent_history": consent_history,
        "vehicles": personal_rows(
            Vehicle.objects.for_tenant(tenant).filter(**scoped).order_by("pk"),
            # The vehicle's own fields as staff edit them; the owner and our integration reference are
            # not the customer's data about the car.
            ["id", *(f for f in VEHICLE_FIELDS if f not in ("customer", "external_ref"))],
        ),
        "purchases": personal_rows(
            Purchase.objects.for_tenant(tenant).filter(**scoped).order_by("date", "pk"),
            ["id", "date", "category__name", "amount", "is_refund", "vehicle_id", "description"],
        ),
        "service_records": personal_rows(
            ServiceRecord.objects.for_tenant(tenant).filter(**scoped).order_by("date", "pk"),
            ["id", "date", "kind", "amount", "mileage", "next_due", "vehicle_id", "notes"],
        ),
    }
    for part in _parts:
        data.update(part.export(tenant=tenant, customer=customer))
    audit_record(
        tenant=tenant,
        action=AuditAction.CUSTOMER_EXPORTED,
        target=customer,
        summary=f"Customer #{customer.pk}",
        request=request,
    )
    return data


def personal_data_csv_rows(data: dict[str, Any]):
    """The export as one CSV: section, record id, field, value (opens in Excel as a readable list)."""
    yield [_("Section"), _("Record"), _("Field"), _("Value")]
    for section, content in data.items():
        if isinstance(content, list):
            for row in content:
                for field, value in row.items():
                    yield [section, row.get("id", ""), field, _cell(value)]
        elif isinstance(content, dict):
            for field, value in content.items():
                if isinstance(value, dict):
                    for sub, v in value.items():
                        yield [section, field, sub, _cell(v)]
                else:
                    yield [section, "", field, _cell(value)]
        elif content is not None:
            yield [section, "", "", _cell(content)]


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


@transaction.atomic
def customer_erase(
    *, tenant: Tenant, customer: Customer, actor: User | None, reason: str = ErasureReason.CUSTOMER_REQUEST
) -> Customer:
    """Erase a customer's personal data on request (APPI). Irreversible; audited without the values.

    Kept: the row and its id, purchases and service records with amounts and dates, vehicles'
    make/model/year and inspection dates, acquisition channel and assigned staff (aggregates by
    channel and staff stay right), analytics rows. Removed or anonymised: everything that identifies
    the person or is free text that may (names, kana, e-mail, phone, address, birthday, gender,
    notes, tags, external reference, plate and chassis numbers, interaction summaries, deal titles,
    call-task reasons, cached API answers). Consent becomes opted-out and planned reminders stop.
    """
    if customer.tenant_id != tenant.pk:
        raise ApplicationError(_("Customer not found."))
    reason = ErasureReason(reason)
    customer = Customer.objects.for_tenant(tenant).select_for_update().get(pk=customer.pk)
    if customer.erased_at is not None:
        raise ApplicationError(_("This customer has already been erased."))
    now = timezone.now()
    household_id = customer.household_id
    scoped = {"customer_id": customer.pk}

    Customer.objects.for_tenant(tenant).filter(pk=customer.pk).update(
        external_ref="",
        family_name=f"{ERASED_NAME} #{customer.pk}"[:50],
        given_name="",
        family_name_kana="",
        given_name_kana="",
        email="",
        phone="",
        postal_code="",
        prefecture="",
        address="",
        birthday=None,
        gender=Gender.UNKNOWN,
        household=None,
        notes="",
        consent=Consent.OPTED_OUT,
        consent_at=None,
        consent_source="erasure",
        opted_out_at=now,
        erased_at=now,
        updated_at=now,
    )
    CustomerTag.objects.for_tenant(tenant).filter(**scoped).delete()
    vehicles = (
        Vehicle.objects.for_tenant(tenant)
        .filter(**scoped)
        .update(plate_number="", vin="", external_ref="", updated_at=now)
    )
    Purchase.objects.for_tenant(tenant).filter(**scoped).update(description="", updated_at=now)
    ServiceRecord.objects.for_tenant(tenant).filter(**scoped).update(notes="", updated_at=now)
    erased: dict[str, int] = {}
    for part in _parts:
        erased.update(part.erase(tenant=tenant, customer=customer, now=now))
    # Stored API answers replayed for Idempotency-Key retries may hold the customer's fields.
    IdempotentRequest.objects.for_tenant(tenant).filter(response_body__id=customer.pk).delete()
    IdempotentRequest.objects.for_tenant(tenant).filter(response_body__customer=customer.pk).delete()
    if household_id and not Customer.objects.for_tenant(tenant).filter(household_id=household_id).exists():
        # A household name ("鈴木家") identifies its last member too.
        Household.objects.for_tenant(tenant).filter(pk=household_id).update(
            name=f"{ERASED_HOUSEHOLD} #{household_id}", notes="", updated_at=now
        )
    audit_record(
        tenant=tenant,
        action=AuditAction.CUSTOMER_ERASED,
        target=customer,
        actor=actor,
        summary=f"Customer #{customer.pk}",
        changes={
            "reason": reason.value,
            "vehicles_anonymised": vehicles,
            **erased,
        },
    )
    return Customer.objects.for_tenant(tenant).get(pk=customer.pk)
