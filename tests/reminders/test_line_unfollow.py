"""An unfollow (block) arriving through the real, signed LINE webhook stops the customer's planned LINE
reminders: before the dispatcher claims them, and between claim and send. Nothing reaches LINE."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from channels.models import LineContact
from interactions.models import CallTask
from reminders.dispatch import reminders_claim_due
from reminders.models import Reminder, ReminderStatus
from reminders.planner import plan_reminders
from reminders.sending import reminders_send_batch
from tests.channels.line.conftest import body_of, event, post_webhook
from tests.factories import VehicleFactory

pytestmark = pytest.mark.django_db

IN_WINDOW = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)
SHOP_SECRET = "line-channel-secret-a"  # tests.channels.conftest.line_shop


def _planned_line_reminder(tenant, customer, on):
    vehicle = VehicleFactory(customer=customer, inspection_expiry=on + timedelta(days=30))
    plan_reminders(on=on)
    return Reminder.objects.for_tenant(tenant).get(vehicle=vehicle)


def _unfollow_by_webhook(tenant, customer):
    contact = LineContact.objects.for_tenant(tenant).get(customer=customer)
    response = post_webhook(tenant, body_of(event("unfollow", contact.line_user_id)), secret=SHOP_SECRET)
    assert response.status_code == 200
    contact.refresh_from_db()
    assert contact.following is False


def _send_all(tenant, ids):
    statuses = {}
    for _ in range(5):
        result = reminders_send_batch(tenant_id=tenant.pk, reminder_ids=ids)
        statuses.update(result.statuses)
        ids = sorted({pk for pks in result.retries.values() for pk in pks})
        if not ids:
            break
    return statuses


def test_unfollow_webhook_stops_a_planned_line_reminder(line_shop, rules, on, follower, fake_line):
    customer = follower(line_shop)  # no e-mail consent: after LINE comes the postcard (an address)
    reminder = _planned_line_reminder(line_shop, customer, on)
    _unfollow_by_webhook(line_shop, customer)

    queued, _claimed = reminders_claim_due(now=IN_WINDOW)
    _send_all(line_shop, [pk for _t, pk in queued])

    reminder.refresh_from_db()
    assert (reminder.status, reminder.channel) == (ReminderStatus.QUEUED, "postcard")  # the print batch
    assert fake_line.requests == [] and fake_line.delivered == []


def test_unfollow_webhook_with_no_other_channel_makes_a_call_task(line_shop, rules, on, follower, fake_line):
    customer = follower(line_shop, postal_code="", address="", email="", phone="")
    reminder = _planned_line_reminder(line_shop, customer, on)
    _unfollow_by_webhook(line_shop, customer)

    reminders_claim_due(now=IN_WINDOW)

    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.CALL_TASK
    assert CallTask.objects.for_tenant(line_shop).filter(customer=customer).count() == 1
    assert fake_line.requests == [] and fake_line.delivered == []


def test_unfollow_webhook_after_claim_stops_the_send(line_shop, rules, on, follower, fake_line):
    customer = follower(line_shop, consent="opted_in", consent_at=timezone.now())
    reminder = _planned_line_reminder(line_shop, customer, on)
    reminders_claim_due(now=IN_WINDOW)
    reminder.refresh_from_db()
    assert (reminder.status, reminder.channel) == ("queued", "line")

    _unfollow_by_webhook(line_shop, customer)
    _send_all(line_shop, [reminder.pk])

    reminder.refresh_from_db()
    assert reminder.status != ReminderStatus.SENT
    assert fake_line.requests == [] and fake_line.delivered == []
