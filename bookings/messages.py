"""What a booking tells the customer and the reminders: confirmation, day-before message, skips.

Called by the booking services inside their transaction, so a booking that rolls back leaves no
message and skips no reminder. E-mail only for now: the channel work (LINE, SMS; issue #14) plugs in
where reminders picks the channel of a Reminder row at send time, so nothing here changes.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format

from bookings import slots as slot_math
from bookings.models import CUSTOMER_CHANGEABLE, Booking, BookingStatus
from bookings.tokens import manage_token
from crm.models import Tenant
from customers.models import ServiceKind
from reminders.models import RuleKind
from reminders.transactional import (
    reminders_skip_for_booking,
    reminders_unskip_after_cancelled_booking,
    transactional_message_queue,
    transactional_messages_drop,
)

# The reminder kinds a booking of this kind of work answers: their further steps are skipped.
REMINDER_KINDS_OF_SERVICE = {
    ServiceKind.SHAKEN: [RuleKind.INSPECTION],
    ServiceKind.CHECK_12M: [RuleKind.CHECK_12M],
    ServiceKind.CHECK_6M: [RuleKind.CHECK_6M],
    ServiceKind.TYRE_CHANGE: [RuleKind.SEASONAL],
}


def manage_url(booking: Booking) -> str:
    token = manage_token(tenant_id=booking.tenant_id, booking_id=booking.pk)
    return settings.SITE_URL.rstrip("/") + reverse("bookings_public:manage", kwargs={"token": token})


def _local(tenant: Tenant, at: datetime) -> datetime:
    return at.astimezone(slot_math.shop_zone(tenant))


def _context(tenant: Tenant, booking: Booking) -> dict[str, str]:
    local = _local(tenant, booking.starts_at)
    with translation.override(booking.customer.language):
        return {
            "booking_date": date_format(local.date(), "DATE_FORMAT"),
            "booking_time": f"{local:%H:%M}",
            "booking_work": booking.work_type.name,
            "booking_manage_url": manage_url(booking),
        }


def _queue(tenant: Tenant, booking: Booking) -> None:
    day = _local(tenant, booking.starts_at).date()
    context = _context(tenant, booking)
    transactional_message_queue(
        tenant=tenant,
        kind=RuleKind.BOOKING_CONFIRMATION,
        customer=booking.customer,
        vehicle=booking.vehicle,
        occasion_date=day,
        context=context,
        send_now=True,
    )
    today = _local(tenant, timezone.now()).date()
    if day - timedelta(days=1) >= today:
        transactional_message_queue(
            tenant=tenant,
            kind=RuleKind.BOOKING_REMINDER,
            customer=booking.customer,
            vehicle=booking.vehicle,
            occasion_date=day,
            context=context,
            due_date=day - timedelta(days=1),
        )


def _kinds(booking: Booking) -> list[str]:
    return REMINDER_KINDS_OF_SERVICE.get(booking.work_type.service_kind, [])


def on_booked(*, tenant: Tenant, booking: Booking) -> None:
    """A new booking: the confirmation goes out now, the day-before message is planned, and the
    reminders about this occasion stop ("booked")."""
    _queue(tenant, booking)
    reminder = booking.reminder
    reminders_skip_for_booking(
        tenant=tenant,
        customer=booking.customer,
        vehicle=booking.vehicle,
        kinds=_kinds(booking),
        rule=reminder.rule if reminder else None,
        occasion_date=reminder.occasion_date if reminder else None,
    )


def on_moved(*, tenant: Tenant, booking: Booking, previous_day: date) -> None:
    """A moved booking: the old day's messages are dropped and the new time is confirmed."""
    if previous_day != _local(tenant, booking.starts_at).date():
        transactional_messages_drop(
            tenant=tenant,
            customer=booking.customer,
            vehicle=booking.vehicle,
            occasion_date=previous_day,
            reason="booking moved",
        )
    _queue(tenant, booking)


def on_cancelled(*, tenant: Tenant, booking: Booking) -> None:
    """A cancelled (or no-show) booking: its unsent messages are dropped; the reminders it stopped come
    back while they are still ahead, unless another booking of the vehicle answers them."""
    transactional_messages_drop(
        tenant=tenant,
        customer=booking.customer,
        vehicle=booking.vehicle,
        occasion_date=_local(tenant, booking.starts_at).date(),
        reason="booking cancelled",
    )
    kinds = _kinds(booking)
    still_booked = (
        Booking.objects.for_tenant(tenant)
        .filter(
            customer=booking.customer,
            vehicle=booking.vehicle,
            work_type__service_kind=booking.work_type.service_kind,
        )
        .exclude(pk=booking.pk)
        .filter(status__in=(*CUSTOMER_CHANGEABLE, BookingStatus.ARRIVED))
        .exists()
    )
    if kinds and not still_booked:
        reminders_unskip_after_cancelled_booking(
            tenant=tenant, customer=booking.customer, vehicle=booking.vehicle, kinds=kinds
        )
