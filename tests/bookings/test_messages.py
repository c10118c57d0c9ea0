"""What a booking sets off in the reminders outbox: the confirmation (sent at once, no marketing
opt-in needed), the day-before message, no further reminder for the booked occasion (reason
"booked"), and the clean-up when the booking moves or is cancelled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from bookings import services
from bookings.models import BookingSource
from interactions.models import CallTask
from reminders.dispatch import reminders_claim_tenant
from reminders.models import Reminder, ReminderRule, ReminderStatus, RuleKind
from reminders.sending import reminder_send
from tests.bookings.conftest import at, next_open_day
from tests.bookings.helpers import inspection_reminder, reminder_url
from tests.factories import CustomerFactory, VehicleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _locmem(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = "https://kizuna.example"


@pytest.fixture
def day():
    return next_open_day(timezone.localdate())


def booking_rows(tenant, kind):
    return Reminder.objects.for_tenant(tenant).filter(rule__kind=kind)


def test_booking_from_a_reminder_skips_its_remaining_steps_and_queues_the_confirmation(
    client, tenant, capacity, day
):
    sent = inspection_reminder(tenant)  # step 1, already sent
    later = Reminder.objects.create(
        tenant=tenant,
        rule=sent.rule,
        step=2,
        customer=sent.customer,
        vehicle=sent.vehicle,
        occasion_date=sent.occasion_date,
        due_date=timezone.localdate() + timedelta(days=30),
    )
    birthday = Reminder.objects.create(
        tenant=tenant,
        rule=ReminderRule.objects.for_tenant(tenant).get(kind=RuleKind.BIRTHDAY),
        step=1,
        customer=sent.customer,
        occasion_date=timezone.localdate() + timedelta(days=40),
        due_date=timezone.localdate() + timedelta(days=40),
    )
    response = client.post(
        reminder_url(sent), {"work": capacity["shaken"].pk, "slot": f"{day.isoformat()}T09:00"}
    )
    assert response.status_code == 302
    later.refresh_from_db()
    birthday.refresh_from_db()
    sent.refresh_from_db()
    assert (later.status, later.reason) == (ReminderStatus.SKIPPED, "booked")
    assert birthday.status == ReminderStatus.PENDING  # another occasion
    assert sent.status == ReminderStatus.SENT
    confirmation = booking_rows(tenant, RuleKind.BOOKING_CONFIRMATION).get()
    assert confirmation.status == ReminderStatus.QUEUED and confirmation.occasion_date == day
    assert confirmation.context["booking_time"] == "09:00"
    assert confirmation.context["booking_manage_url"].startswith("https://kizuna.example/b/m/")
    day_before = booking_rows(tenant, RuleKind.BOOKING_REMINDER).get()
    assert (day_before.status, day_before.due_date) == (ReminderStatus.PENDING, day - timedelta(days=1))


def test_the_confirmation_goes_to_a_customer_without_marketing_consent(tenant, capacity, day):
    customer = CustomerFactory(tenant=tenant, email="booked@example.jp")  # consent: not asked
    assert not customer.can_receive_marketing_email
    booking = services.booking_create(
        tenant=tenant,
        customer=customer,
        vehicle=VehicleFactory(customer=customer, plate_number="品川 300 さ 12-34"),
        work_type=capacity["shaken"],
        starts_at=at(day, 10),
        source=BookingSource.PHONE,
    )
    confirmation = booking_rows(tenant, RuleKind.BOOKING_CONFIRMATION).get()
    assert reminder_send(tenant_id=tenant.pk, reminder_id=confirmation.pk) == "sent"
    [message] = mail.outbox
    assert message.to == ["booked@example.jp"]
    assert "10:00" in message.subject
    assert "車検" in message.body and "/b/m/" in message.body
    assert "List-Unsubscribe" in message.extra_headers  # still identifies the sender (特定電子メール法)
    # The manage link in the e-mail opens the booking.
    link = next(word for word in message.body.split() if "/b/m/" in word)
    assert Client().get(link.replace("https://kizuna.example", "")).status_code == 200
    assert booking.pk


def test_a_customer_without_an_address_gets_a_call_task_for_the_day_before(tenant, capacity, day):
    customer = CustomerFactory(tenant=tenant, email="")
    services.booking_create(
        tenant=tenant,
        customer=customer,
        work_type=capacity["oil_change"],
        starts_at=at(day, 10),
        source=BookingSource.PHONE,
    )
    day_before = booking_rows(tenant, RuleKind.BOOKING_REMINDER).get()
    in_window = datetime.combine(day - timedelta(days=1), datetime.min.time(), tzinfo=UTC) + timedelta(
        hours=1
    )
    queued, claimed = reminders_claim_tenant(
        tenant_id=tenant.pk, local_day=day - timedelta(days=1), now=in_window
    )
    assert claimed >= 1 and (tenant.pk, day_before.pk) not in queued
    day_before.refresh_from_db()
    assert day_before.status == ReminderStatus.CALL_TASK
    assert "no e-mail address" in CallTask.objects.for_tenant(tenant).get(pk=day_before.call_task_id).reason


def test_the_day_before_message_is_claimed_without_marketing_consent(tenant, capacity, day):
    customer = CustomerFactory(tenant=tenant, email="later@example.jp")
    services.booking_create(
        tenant=tenant,
        customer=customer,
        work_type=capacity["oil_change"],
        starts_at=at(day, 10),
        source=BookingSource.PHONE,
    )
    day_before = booking_rows(tenant, RuleKind.BOOKING_REMINDER).get()
    in_window = datetime.combine(day - timedelta(days=1), datetime.min.time(), tzinfo=UTC) + timedelta(
        hours=1
    )
    queued, _claimed = reminders_claim_tenant(
        tenant_id=tenant.pk, local_day=day - timedelta(days=1), now=in_window
    )
    assert (tenant.pk, day_before.pk) in queued


def test_moving_and_cancelling_clean_up_the_messages_and_bring_the_reminders_back(tenant, capacity, day):
    reminder = inspection_reminder(tenant)
    ahead = Reminder.objects.create(
        tenant=tenant,
        rule=reminder.rule,
        step=2,
        customer=reminder.customer,
        vehicle=reminder.vehicle,
        occasion_date=reminder.occasion_date,
        due_date=timezone.localdate() + timedelta(days=30),
    )
    booking = services.booking_create(
        tenant=tenant,
        customer=reminder.customer,
        vehicle=reminder.vehicle,
        work_type=capacity["shaken"],
        starts_at=at(day, 9),
        source=BookingSource.PHONE,
    )
    ahead.refresh_from_db()
    assert ahead.reason == "booked"
    later_day = next_open_day(day, min_days=1)
    services.booking_move(tenant=tenant, booking=booking, starts_at=at(later_day, 13))
    old = booking_rows(tenant, RuleKind.BOOKING_REMINDER).get(occasion_date=day)
    assert (old.status, old.reason) == (ReminderStatus.SKIPPED, "booking moved")
    assert (
        booking_rows(tenant, RuleKind.BOOKING_REMINDER).get(occasion_date=later_day).status
        == ReminderStatus.PENDING
    )
    assert booking_rows(tenant, RuleKind.BOOKING_CONFIRMATION).filter(occasion_date=later_day).exists()
    services.booking_cancel(tenant=tenant, booking=booking)
    new = booking_rows(tenant, RuleKind.BOOKING_REMINDER).get(occasion_date=later_day)
    assert (new.status, new.reason) == (ReminderStatus.SKIPPED, "booking cancelled")
    ahead.refresh_from_db()
    assert (ahead.status, ahead.reason) == (ReminderStatus.PENDING, "")


def test_every_reminder_email_carries_its_booking_link(client, tenant, capacity, day, settings):
    reminder = inspection_reminder(tenant)
    Reminder.objects.for_tenant(tenant).filter(pk=reminder.pk).update(status=ReminderStatus.QUEUED)
    reminder.customer.consent, reminder.customer.consent_at = "opted_in", timezone.now()
    reminder.customer.save()
    assert reminder_send(tenant_id=tenant.pk, reminder_id=reminder.pk) == "sent"
    [message] = mail.outbox
    link = next(word for word in message.body.split() if "/b/r/" in word)
    assert link.startswith("https://kizuna.example/b/r/")
    page = client.get(link.replace("https://kizuna.example", "") + f"?from={day.isoformat()}")
    assert page.status_code == 200 and "•••• 34" in page.content.decode()
