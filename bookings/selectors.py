"""Reads of bookings that more than one caller needs. Every selector takes the tenant explicitly."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connection
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from bookings.models import (
    CUSTOMER_CHANGEABLE,
    HOLDING_STATUSES,
    Booking,
    BookingStatus,
    ClosedDay,
    OpeningHours,
    WorkType,
)
from bookings.slots import settings_for, shop_zone
from crm.models import Tenant
from customers.models import Customer, Vehicle
from reminders.models import Reminder, ReminderRule


def work_types(*, tenant: Tenant, online_only: bool = False) -> QuerySet[WorkType]:
    qs = WorkType.objects.for_tenant(tenant).filter(is_active=True)
    if online_only:
        qs = qs.filter(bookable_online=True)
    return qs.order_by("position", "id")


def work_type_get(*, tenant: Tenant, pk: int) -> WorkType:
    return get_object_or_404(WorkType.objects.for_tenant(tenant), pk=pk)


def work_type_for_service_kind(*, tenant: Tenant, service_kind: str) -> WorkType | None:
    """The first active work type that becomes this kind of service record (e.g. 車検)."""
    return work_types(tenant=tenant).filter(service_kind=service_kind).first()


@dataclass(frozen=True)
class ReminderLink:
    """What the page of a reminder's booking link needs: the shop (`tenant`, with only the columns
    the page shows loaded; the others are deferred), the reminder's occasion, the customer's
    language, the car's plate and the latest booking made from this link that the customer may
    still change. Never the customer's name or contact details."""

    tenant: Tenant
    reminder_id: int
    rule_kind: str
    customer_id: int
    customer_language: str
    customer_erased: bool
    vehicle_id: int | None
    plate_number: str
    open_booking_id: int | None
    clicked_at: datetime | None = None


_LINK_TENANT_FIELDS = ("id", "slug", "name", "time_zone", "phone", "address")


@functools.cache
def _reminder_link_sql(vendor: str) -> str:
    """The statement behind `reminder_link_get`, built once per process from the models' metadata.

    Written out rather than through the ORM: the public page runs it on every request, and
    compiling the equivalent queryset (four joins and a subquery) cost twenty times the statement
    itself (docs/benchmarks.md, "Bookings"). Every joined row is matched on the tenant too, and on
    PostgreSQL row-level security applies to it as to any query."""
    q = connection.ops.quote_name

    def col(alias: str, model, field: str) -> str:
        return f"{alias}.{q(model._meta.get_field(field).column)}"

    r_tenant = col("r", Reminder, "tenant")

    def join(kind: str, model, alias: str, fk: str) -> str:
        # Matched on the tenant as well as the id: a row of another shop never joins.
        return (
            f" {kind} JOIN {q(model._meta.db_table)} {alias} ON {col(alias, model, 'id')} = "
            f"{col('r', Reminder, fk)} AND {col(alias, model, 'tenant')} = {r_tenant}"
        )

    columns = [col("t", Tenant, f) for f in _LINK_TENANT_FIELDS] + [
        col("r", Reminder, "id"),
        col("r", Reminder, "clicked_at"),
        col("ru", ReminderRule, "kind"),
        col("c", Customer, "id"),
        col("c", Customer, "language"),
        col("c", Customer, "erased_at"),
        col("v", Vehicle, "id"),
        col("v", Vehicle, "plate_number"),
    ]
    open_booking = (
        f"(SELECT {col('b', Booking, 'id')} FROM {q(Booking._meta.db_table)} b"  # noqa: S608
        f" WHERE {col('b', Booking, 'tenant')} = {r_tenant}"
        f" AND {col('b', Booking, 'reminder')} = {col('r', Reminder, 'id')}"
        f" AND {col('b', Booking, 'status')} IN ({', '.join(['%s'] * len(CUSTOMER_CHANGEABLE))})"
        f" ORDER BY {col('b', Booking, 'id')} DESC LIMIT 1)"
    )
    return (
        # Names come from the models' metadata; every value is a parameter.
        f"SELECT {', '.join(columns)}, {open_booking}"  # noqa: S608
        f" FROM {q(Reminder._meta.db_table)} r"
        f" INNER JOIN {q(Tenant._meta.db_table)} t ON {col('t', Tenant, 'id')} = {r_tenant}"
        + join("INNER", ReminderRule, "ru", "rule")
        + join("INNER", Customer, "c", "customer")
        + join("LEFT OUTER", Vehicle, "v", "vehicle")
        + f" WHERE {r_tenant} = %s AND {col('r', Reminder, 'id')} = %s"
    )


def reminder_link_get(*, tenant_id: int, reminder_id: int) -> ReminderLink | None:
    """The reminder behind a booking link with its shop, in ONE statement; None when this shop has no
    such reminder (another shop's reminder id included)."""
    with connection.cursor() as cursor:
        cursor.execute(
            _reminder_link_sql(connection.vendor), [*CUSTOMER_CHANGEABLE, int(tenant_id), int(reminder_id)]
        )
        row = cursor.fetchone()
    if row is None:
        return None
    n = len(_LINK_TENANT_FIELDS)
    tenant = Tenant.from_db(connection.alias, list(_LINK_TENANT_FIELDS), list(row[:n]))
    (reminder_id, clicked_at, kind, customer_id, language, erased_at, vehicle_id, plate, open_booking_id) = (
        row[n:]
    )
    return ReminderLink(
        tenant=tenant,
        reminder_id=reminder_id,
        rule_kind=kind,
        customer_id=customer_id,
        customer_language=language,
        customer_erased=erased_at is not None,
        vehicle_id=vehicle_id,
        plate_number=plate or "",
        open_booking_id=open_booking_id,
        clicked_at=clicked_at,
    )


def reminder_for_booking(*, tenant: Tenant, pk: int) -> Reminder:
    """The reminder with its customer and vehicle, whole: booking from its link writes with them."""
    return get_object_or_404(
        Reminder.objects.for_tenant(tenant).select_related("rule", "customer", "vehicle"), pk=pk
    )


def booking_get(*, tenant: Tenant, pk: int) -> Booking:
    return get_object_or_404(
        Booking.objects.for_tenant(tenant).select_related("customer", "vehicle", "work_type"), pk=pk
    )


def day_bounds(tenant: Tenant, first: date, last: date) -> tuple[datetime, datetime]:
    """[start of `first`, start of the day after `last`) in the shop's time zone."""
    zone = shop_zone(tenant)
    start = datetime.combine(first, datetime.min.time(), tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    return start, end


def bookings_between(
    *, tenant: Tenant, first: date, last: date, include_cancelled: bool = False
) -> QuerySet[Booking]:
    """The bookings starting on the shop's local days [first, last], in time order (calendar, Today)."""
    start, end = day_bounds(tenant, first, last)
    qs = (
        Booking.objects.for_tenant(tenant)
        .filter(starts_at__gte=start, starts_at__lt=end)
        .select_related("customer", "vehicle", "work_type")
        .order_by("starts_at", "id")
    )
    if not include_cancelled:
        qs = qs.filter(status__in=(*HOLDING_STATUSES, BookingStatus.NO_SHOW))
    return qs


def calendar_week_rows(*, tenant: Tenant, first: date, last: date):
    """The week view's bookings as plain rows: what one line in the calendar needs, nothing more."""
    start, end = day_bounds(tenant, first, last)
    return (
        Booking.objects.for_tenant(tenant)
        .filter(
            starts_at__gte=start, starts_at__lt=end, status__in=(*HOLDING_STATUSES, BookingStatus.NO_SHOW)
        )
        .order_by("starts_at", "id")
        .values("pk", "starts_at", "status", "work_type_id", "customer__family_name")
    )


def bookings_unconfirmed(*, tenant: Tenant, since: datetime) -> QuerySet[Booking]:
    """Online requests still waiting for the shop, from `since` on (Today's list)."""
    return (
        Booking.objects.for_tenant(tenant)
        .filter(status=BookingStatus.REQUESTED, starts_at__gte=since)
        .select_related("customer", "vehicle", "work_type")
        .order_by("starts_at", "id")
    )


def customer_upcoming_bookings(*, tenant: Tenant, customer_id: int, since: datetime) -> QuerySet[Booking]:
    return (
        Booking.objects.for_tenant(tenant)
        .filter(customer_id=customer_id, starts_at__gte=since, status__in=HOLDING_STATUSES)
        .select_related("work_type", "vehicle")
        .order_by("starts_at")
    )


def capacity_overview(*, tenant: Tenant) -> dict:
    return {
        "settings": settings_for(tenant),
        "work_types": list(WorkType.objects.for_tenant(tenant).order_by("position", "id")),
        "hours": list(OpeningHours.objects.for_tenant(tenant).order_by("weekday", "opens")),
        "closed_days": list(ClosedDay.objects.for_tenant(tenant).order_by("date")),
    }


def mask_plate(plate: str) -> str:
    """A plate with everything but its last two digits hidden: enough for the customer to recognise
    their car, nothing for a stranger who got hold of the link."""
    digits = [c for c in plate if c.isdigit()]
    if len(digits) < 2:
        return "••••"
    return "•••• " + "".join(digits[-2:])
