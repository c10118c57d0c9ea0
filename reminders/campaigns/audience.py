"""A campaign's saved audience: validating it, and resolving it to the shop's customers as one query.

The audience is a small JSON object (every key optional, all given keys must match):

    {"segment": "at_risk",               # a customers.segments code (analytics fills the registry)
     "tags": ["vip", "fleet"],           # has at least one of these tags
     "inspection_in_months": [2, 4],     # owns a vehicle whose 車検 expires between on+2 and on+4 months
     "last_visit_before": "2026-01-01"}  # visited (service or purchase), but not since this date

`on` is the campaign's send date, so the preview shows the customers the launch will write to.
An empty audience is every customer of the shop; erased customers (APPI) are never in it.
"""

from __future__ import annotations

import calendar
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext as _

from crm.models import Tenant
from customers.models import Customer, CustomerTag, Purchase, ServiceRecord, Tag, Vehicle, VehicleStatus
from customers.segments import customers_in_segment, segment_choices

AUDIENCE_KEYS = ("segment", "tags", "inspection_in_months", "last_visit_before")
MAX_TAGS = 20
MAX_MONTHS_AHEAD = 36


def add_months(day: date, months: int) -> date:
    """The same day `months` later (the month's last day when it is shorter)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def audience_clean(*, tenant: Tenant, data: Any) -> dict:
    """The normalized audience, or ValidationError naming what is wrong (nothing is saved)."""
    if data in (None, ""):
        return {}
    if not isinstance(data, dict):
        raise ValidationError(_("The audience must be an object."))
    unknown = sorted(set(data) - set(AUDIENCE_KEYS))
    if unknown:
        raise ValidationError(_("Unknown audience fields: %(fields)s") % {"fields": ", ".join(unknown)})
    clean: dict = {}
    segment = data.get("segment") or ""
    if segment:
        if not isinstance(segment, str) or segment not in {code for code, _label in segment_choices()}:
            raise ValidationError(_("Unknown segment: %(segment)s") % {"segment": segment})
        clean["segment"] = segment
    tags = data.get("tags") or []
    if tags:
        if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
            raise ValidationError(_("Tags must be a list of tag names."))
        tags = sorted({t.strip() for t in tags})
        if len(tags) > MAX_TAGS:
            raise ValidationError(_("At most %(n)d tags.") % {"n": MAX_TAGS})
        known = set(Tag.objects.for_tenant(tenant).filter(name__in=tags).values_list("name", flat=True))
        missing = [t for t in tags if t not in known]
        if missing:
            raise ValidationError(_("Unknown tags: %(tags)s") % {"tags": ", ".join(missing)})
        clean["tags"] = tags
    months = data.get("inspection_in_months")
    if months not in (None, "", []):
        if (
            not isinstance(months, list | tuple)
            or len(months) != 2
            or not all(isinstance(m, int) and not isinstance(m, bool) for m in months)
            or not 0 <= months[0] <= months[1] <= MAX_MONTHS_AHEAD
        ):
            raise ValidationError(
                _("車検 months: give from and to, 0–%(max)d, from not after to (e.g. 2 and 4).")
                % {"max": MAX_MONTHS_AHEAD}
            )
        clean["inspection_in_months"] = [months[0], months[1]]
    before = data.get("last_visit_before")
    if before:
        try:
            if not isinstance(before, str | date):
                raise ValueError(before)
            day = before if isinstance(before, date) else date.fromisoformat(before)
        except ValueError as exc:
            raise ValidationError(_("Last visit before: enter a date as YYYY-MM-DD.")) from exc
        clean["last_visit_before"] = day.isoformat()
    return clean


def audience_customers(*, tenant: Tenant, audience: dict, on: date) -> QuerySet[Customer]:
    """The shop's customers in the (cleaned) audience on the send date `on`: one query, no loop."""
    qs = Customer.objects.for_tenant(tenant).filter(erased_at__isnull=True)
    if audience.get("segment"):
        members = customers_in_segment(tenant=tenant, segment=audience["segment"]).values("pk")
        qs = qs.filter(pk__in=members)
    if audience.get("tags"):
        qs = qs.filter(
            Exists(
                CustomerTag.objects.for_tenant(tenant).filter(
                    customer_id=OuterRef("pk"), tag__name__in=audience["tags"]
                )
            )
        )
    if audience.get("inspection_in_months"):
        start, end = audience["inspection_in_months"]
        qs = qs.filter(
            Exists(
                Vehicle.objects.for_tenant(tenant).filter(
                    customer_id=OuterRef("pk"),
                    status=VehicleStatus.OWNED,
                    inspection_expiry__gte=add_months(on, start),
                    inspection_expiry__lte=add_months(on, end),
                )
            )
        )
    if audience.get("last_visit_before"):
        before = date.fromisoformat(audience["last_visit_before"])
        services = ServiceRecord.objects.for_tenant(tenant).filter(customer_id=OuterRef("pk"))
        purchases = Purchase.objects.for_tenant(tenant).filter(customer_id=OuterRef("pk"), is_refund=False)
        qs = qs.filter(Exists(services.filter(date__lt=before)) | Exists(purchases.filter(date__lt=before)))
        qs = qs.exclude(Exists(services.filter(date__gte=before)))
        qs = qs.exclude(Exists(purchases.filter(date__gte=before)))
    return qs
