"""Reads of bookings that more than one caller needs. Every selector takes the tenant explicitly."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from bookings.models import (
    HOLDING_STATUSES,
    Booking,
    BookingStatus,
    ClosedDay,
    OpeningHours,
    WorkType,
)
from bookings.slots import settings_for, shop_zone
from crm.models import Tenant


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
