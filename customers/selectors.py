"""Reads of the customer record. Every selector takes the tenant and returns 404 across tenants."""

from __future__ import annotations

import calendar
import unicodedata
from datetime import date

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce, Replace, Upper
from django.shortcuts import get_object_or_404

from crm.models import Tenant, User
from customers.models import (
    Customer,
    Household,
    Purchase,
    PurchaseCategory,
    ServiceKind,
    ServiceRecord,
    Vehicle,
    VehicleStatus,
)

BIRTHDAY_YEARS_BACK = 110


def customer_get(*, tenant: Tenant, pk: int) -> Customer:
    return get_object_or_404(
        Customer.objects.for_tenant(tenant).select_related("household", "assigned_staff"), pk=pk
    )


SEARCH_SUBSTRING_MIN = 3  # shorter terms match at the start of a field (see customer_search)
PLATE_OWNERS_INLINE_LIMIT = 5_000


def _normalise_query(q: str) -> str:
    """Full-width digits and letters to half-width, half-width katakana to full-width (NFKC)."""
    return unicodedata.normalize("NFKC", q or "").strip()


def _katakana(text: str) -> str:
    """Furigana is stored in katakana; a search typed in hiragana finds it too."""
    return "".join(chr(ord(c) + 0x60) if "\u3041" <= c <= "\u3096" else c for c in text)


def _without_separators(expression):
    return Replace(Replace(expression, Value("-"), Value("")), Value(" "), Value(""))


def _text_match(field: str, term: str) -> Q:
    """Case-insensitive match of one term: anywhere in the field from three characters on, otherwise at its
    start. A trigram index cannot answer a one- or two-character substring (it has no trigram to look
    up), and Japanese names are often two characters (山田): `LIKE '山田%'` uses the index, `'%山田%'`
    reads every row."""
    if len(term) >= SEARCH_SUBSTRING_MIN:
        return Q(**{f"{field}__icontains": term})
    return Q(**{f"{field}__istartswith": term})


def customer_search(*, tenant: Tenant, q: str = "") -> QuerySet[Customer]:
    """Customers matching a free-text search over name, furigana, phone, e-mail and plate number.

    Every condition is on an expression with a trigram index on PostgreSQL
    (customers/migrations/0005_search_trigram_indexes.py), so the OR of them is a BitmapOr of index
    scans. The phone and the plate are compared without hyphens and spaces (090-1234 finds 0901234…).
    """
    qs = Customer.objects.for_tenant(tenant)
    q = _normalise_query(q)
    if not q:
        return qs
    kana = _katakana(q)
    cond = (
        _text_match("family_name", q)
        | _text_match("given_name", q)
        | _text_match("family_name_kana", kana)
        | _text_match("given_name_kana", kana)
        | _text_match("email", q)
        | Q(external_ref=q)
    )
    parts = q.split()
    if len(parts) == 2:
        cond |= _text_match("family_name", parts[0]) & _text_match("given_name", parts[1])
        kana_parts = kana.split()
        cond |= _text_match("family_name_kana", kana_parts[0]) & _text_match("given_name_kana", kana_parts[1])
    compact = q.replace("-", "").replace(" ", "")
    if compact.isdigit() and len(compact) >= SEARCH_SUBSTRING_MIN:
        qs = qs.alias(phone_digits=_without_separators(F("phone")))
        cond |= Q(phone_digits__contains=compact)
    if len(compact) >= 2:
        # The plate owners as a list of ids keeps every arm of the OR indexable; a subquery would not.
        lookup = "contains" if len(compact) >= SEARCH_SUBSTRING_MIN else "startswith"
        plate_owners = (
            Vehicle.objects.for_tenant(tenant)
            .alias(plate_compact=Upper(_without_separators(F("plate_number"))))
            .filter(**{f"plate_compact__{lookup}": compact.upper()})
            .values_list("customer_id", flat=True)
        )
        owner_ids = list(plate_owners[: PLATE_OWNERS_INLINE_LIMIT + 1])
        if len(owner_ids) > PLATE_OWNERS_INLINE_LIMIT:
            cond |= Q(pk__in=plate_owners)
        elif owner_ids:
            cond |= Q(pk__in=owner_ids)
    return qs.filter(cond)


def household_get(*, tenant: Tenant, pk: int) -> Household:
    return get_object_or_404(Household.objects.for_tenant(tenant), pk=pk)


def vehicle_get(*, tenant: Tenant, pk: int) -> Vehicle:
    return get_object_or_404(Vehicle.objects.for_tenant(tenant).select_related("customer"), pk=pk)


def purchase_get(*, tenant: Tenant, pk: int) -> Purchase:
    return get_object_or_404(Purchase.objects.for_tenant(tenant).select_related("category"), pk=pk)


def service_record_get(*, tenant: Tenant, pk: int) -> ServiceRecord:
    return get_object_or_404(ServiceRecord.objects.for_tenant(tenant), pk=pk)


def purchase_categories(*, tenant: Tenant) -> QuerySet[PurchaseCategory]:
    return PurchaseCategory.objects.for_tenant(tenant)


# --- what comes due (the Today page) -------------------------------------------------------------------
def vehicles_inspection_due(*, tenant: Tenant, since: date, until: date) -> QuerySet[Vehicle]:
    """Owned vehicles whose 車検 expires between `since` and `until`, soonest first, with their owner."""
    return (
        Vehicle.objects.for_tenant(tenant)
        .filter(status=VehicleStatus.OWNED, inspection_expiry__lte=until, inspection_expiry__gte=since)
        .select_related("customer")
        .order_by("inspection_expiry", "pk")
    )


def checkups_due(*, tenant: Tenant, since: date, until: date) -> QuerySet[ServiceRecord]:
    """Legal check-ups (12-month, and 6-month where the shop does them) falling due between the dates.

    Only the latest check of a vehicle counts: a later check of the same kind supersedes the due date.
    """
    kinds = [ServiceKind.CHECK_12M, ServiceKind.CHECK_6M]
    if not tenant.six_month_check_enabled:
        kinds = [ServiceKind.CHECK_12M]
    later = ServiceRecord.objects.for_tenant(tenant).filter(
        vehicle_id=OuterRef("vehicle_id"),
        kind=OuterRef("kind"),
        date__gt=OuterRef("date"),
    )
    return (
        ServiceRecord.objects.for_tenant(tenant)
        .filter(kind__in=kinds, next_due__lte=until, next_due__gte=since)
        .exclude(Exists(later))
        .filter(vehicle__status=VehicleStatus.OWNED)
        .select_related("customer", "vehicle")
        .order_by("next_due", "pk")
    )


def birthday_dates(day: date) -> list[date]:
    """Every date a birthday on `day` can have (one per year; 29 Feb counts on 28 Feb in common years)."""
    days = []
    for year in range(day.year - BIRTHDAY_YEARS_BACK, day.year + 1):
        try:
            days.append(day.replace(year=year))
        except ValueError:  # 29 Feb in a common year
            continue
    if day.month == 2 and day.day == 28 and not calendar.isleap(day.year):
        days += [
            date(y, 2, 29) for y in range(day.year - BIRTHDAY_YEARS_BACK, day.year) if calendar.isleap(y)
        ]
    return days


def customers_with_birthday(*, tenant: Tenant, day: date) -> QuerySet[Customer]:
    """Customers whose birthday is `day`, by furigana."""
    return (
        Customer.objects.for_tenant(tenant)
        .filter(birthday__in=birthday_dates(day))  # an IN list the (tenant, birthday) index answers
        # Sorted through an expression so PostgreSQL fetches the day's few rows by birthday and sorts
        # them, instead of walking the whole furigana index until 20 happen to match (30 ms at 100k).
        .order_by(Coalesce("family_name_kana", "family_name_kana"), "pk")
    )


def customers_assigned_count(*, tenant: Tenant, user: User) -> int:
    """Customers `user` looks after in `tenant` (a member's work, counted for crm.tenancy.handover)."""
    return Customer.objects.for_tenant(tenant).filter(assigned_staff=user).count()
