"""Reminders with booking links, for the public page tests."""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking
from reminders.links import booking_token
from reminders.models import Reminder, ReminderRule, RuleKind
from reminders.services import reminder_defaults_create
from tests.factories import CustomerFactory, VehicleFactory


def inspection_reminder(tenant, *, customer=None, plate="品川 300 さ 12-34"):
    reminder_defaults_create(tenant=tenant)
    rule = ReminderRule.objects.for_tenant(tenant).get(kind=RuleKind.INSPECTION)
    customer = customer or CustomerFactory(tenant=tenant)
    vehicle = VehicleFactory(customer=customer, plate_number=plate)
    today = timezone.localdate()
    return Reminder.objects.create(
        tenant=tenant,
        rule=rule,
        step=1,
        customer=customer,
        vehicle=vehicle,
        occasion_date=vehicle.inspection_expiry,
        due_date=today,
        status="sent",
    )


def reminder_url(reminder) -> str:
    token = booking_token(tenant_id=reminder.tenant_id, reminder_id=reminder.pk)
    return reverse("bookings_public:from_reminder", kwargs={"token": token})


def booking_at(tenant, customer, vehicle, work_type, starts_at, *, status):
    """A booking row written directly (no slot rules): for pages that show bookings at fixed times."""
    return Booking.objects.create(
        tenant=tenant,
        customer=customer,
        vehicle=vehicle,
        work_type=work_type,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=work_type.duration_minutes),
        status=status,
        source="phone",
    )
