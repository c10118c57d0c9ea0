"""Reminders on LINE, SMS and postcards: channel choice at dispatch, sending through the fake LINE API
and fake SMS provider (real HTTP on 127.0.0.1), and the e-mail guarantees on every channel."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from channels.models import LineContact
from channels.services import channel_consent_set, channel_preference_set, channel_settings_update
from interactions.models import CallTask, Interaction
from reminders.dispatch import reminders_claim_due, reminders_sweep_stuck
from reminders.models import Reminder, ReminderStatus
from reminders.planner import plan_reminders
from reminders.sending import reminders_send_batch
from reminders.sending.channels import retry_key
from tests.factories import CustomerFactory, VehicleFactory
from tests.fakes.line_api import line_user_id

pytestmark = pytest.mark.django_db

IN_WINDOW = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://kizuna.example"
    settings.REMINDER_RETRY_BASE_SECONDS = 1


def _due(tenant, customer, on):
    vehicle = VehicleFactory(customer=customer, inspection_expiry=on + timedelta(days=30))
    plan_reminders(on=on)
    return Reminder.objects.for_tenant(tenant).get(vehicle=vehicle)


def _claim():
    queued, _claimed = reminders_claim_due(now=IN_WINDOW)
    return queued


def _send_until_done(tenant, ids, rounds=10):
    """Run the send task like the worker does: retried ids go round again (countdowns skipped)."""
    statuses = {}
    for _ in range(rounds):
        result = reminders_send_batch(tenant_id=tenant.pk, reminder_ids=ids)
        statuses.update(result.statuses)
        ids = sorted({pk for pks in result.retries.values() for pk in pks})
        if not ids:
            break
    return statuses


def test_a_follower_gets_the_reminder_on_line_once_with_the_retry_key(
    line_shop, rules, on, follower, fake_line
):
    customer = follower(line_shop, consent="opted_in", consent_at=timezone.now())
    reminder = _due(line_shop, customer, on)

    assert _claim() == [(line_shop.pk, reminder.pk)]
    reminder.refresh_from_db()
    assert (reminder.status, reminder.channel) == ("queued", "line")
    assert _send_until_done(line_shop, [reminder.pk]) == {reminder.pk: "sent"}

    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.SENT
    [delivered] = fake_line.delivered
    contact = LineContact.objects.for_tenant(line_shop).get(customer=customer)
    assert delivered["to"] == contact.line_user_id
    assert delivered["retry_key"] == retry_key(reminder)
    assert "Shop A" in delivered["messages"][0]["text"]
    interaction = Interaction.objects.for_tenant(line_shop).get(customer=customer)
    assert (interaction.channel, interaction.source) == ("line", "reminder")
    # A second delivery of the same task sends nothing
    assert reminders_send_batch(tenant_id=line_shop.pk, reminder_ids=[reminder.pk]).statuses == {
        reminder.pk: "not_claimed"
    }
    assert len(fake_line.delivered) == 1


def test_a_429_storm_is_retried_without_duplicates(line_shop, rules, on, follower, fake_line):
    customers = [follower(line_shop) for _ in range(5)]
    reminders = [_due(line_shop, c, on) for c in customers]
    ids = sorted(pk for _t, pk in _claim())
    assert ids == sorted(r.pk for r in reminders)
    fake_line.fail_next(12, 429, retry_after=0)

    statuses = _send_until_done(line_shop, ids)

    assert set(statuses.values()) == {"sent"}
    assert len(fake_line.delivered) == 5
    assert fake_line.shown_twice() == []
    assert fake_line.status_counts[429] == 12


def test_a_lost_response_is_retried_with_the_same_key_and_shown_once(
    line_shop, rules, on, follower, fake_line
):
    reminder = _due(line_shop, follower(line_shop), on)
    _claim()
    fake_line.fail_next(1, 500, accept=True)  # LINE delivered it, but the answer was a 500

    assert _send_until_done(line_shop, [reminder.pk]) == {reminder.pk: "sent"}

    assert [r["status"] for r in fake_line.requests] == [500, 409]
    assert len(fake_line.delivered) == 1


def test_a_blocked_user_is_marked_failed_and_loses_line_consent(line_shop, rules, on, follower, fake_line):
    customer = follower(line_shop)
    reminder = _due(line_shop, customer, on)
    _claim()
    contact = LineContact.objects.for_tenant(line_shop).get(customer=customer)
    fake_line.blocked.add(contact.line_user_id)

    assert _send_until_done(line_shop, [reminder.pk]) == {reminder.pk: "failed"}

    reminder.refresh_from_db()
    assert reminder.reason.startswith("LINE 400: Failed to send messages")
    contact.refresh_from_db()
    assert contact.following is False and contact.unfollowed_at is not None
    assert "friend" in contact.last_error
    assert fake_line.delivered == []


def test_unfollow_stops_a_planned_reminder(line_shop, rules, on, follower, fake_line):
    customer = follower(line_shop, consent="opted_in", consent_at=timezone.now())
    reminder = _due(line_shop, customer, on)
    LineContact.objects.for_tenant(line_shop).filter(customer=customer).update(following=False)

    _claim()

    reminder.refresh_from_db()
    assert (reminder.status, reminder.channel) == ("queued", "email")  # the next channel in the order
    assert fake_line.requests == []


def test_unfollow_between_claim_and_send_makes_a_call_task(line_shop, rules, on, follower, fake_line):
    customer = follower(line_shop)
    reminder = _due(line_shop, customer, on)
    _claim()
    LineContact.objects.for_tenant(line_shop).filter(customer=customer).update(following=False)

    assert _send_until_done(line_shop, [reminder.pk]) == {reminder.pk: "call_task"}

    reminder.refresh_from_db()
    assert reminder.reason == "LINE: no longer following"
    assert CallTask.objects.for_tenant(line_shop).filter(customer=customer).count() == 1
    assert fake_line.requests == []


def test_provider_down_retries_then_sends_once(line_shop, rules, on, follower, fake_line):
    reminder = _due(line_shop, follower(line_shop), on)
    _claim()
    fake_line.stop()
    result = reminders_send_batch(tenant_id=line_shop.pk, reminder_ids=[reminder.pk])
    assert result.statuses == {reminder.pk: "retry"}
    reminder.refresh_from_db()
    assert reminder.status == "queued" and "connection error" in reminder.reason
    fake_line.start()
    assert _send_until_done(line_shop, [reminder.pk]) == {reminder.pk: "sent"}
    assert len(fake_line.delivered) == 1


def test_rule_restriction_and_postcards_wait_for_their_print_batch(line_shop, rules, on, follower, fake_line):
    rule = rules["inspection"]
    rule.allowed_channels = "postcard"
    rule.save()
    customer = follower(line_shop)  # follows on LINE, but the rule allows postcards only
    reminder = _due(line_shop, customer, on)

    assert _claim() == []  # nothing enqueued: postcards are printed, not sent by a task

    reminder.refresh_from_db()
    assert (reminder.status, reminder.channel) == ("queued", "postcard")
    # Neither the send task nor the sweeper (even days later) touches it
    assert reminders_send_batch(tenant_id=line_shop.pk, reminder_ids=[reminder.pk]).statuses == {
        reminder.pk: "not_claimed"
    }
    assert reminders_sweep_stuck(now=timezone.now() + timedelta(days=5)) == []
    reminder.refresh_from_db()
    assert reminder.status == "queued"


def test_nobody_reachable_becomes_one_call_task(line_shop, rules, on):
    customer = CustomerFactory(tenant=line_shop, postal_code="", address="")
    reminder = _due(line_shop, customer, on)
    _claim()
    reminder.refresh_from_db()
    assert (reminder.status, reminder.channel) == ("call_task", "")
    assert CallTask.objects.for_tenant(line_shop).filter(customer=customer).count() == 1


def test_sms_is_short_with_a_signed_link_to_the_opt_out(line_shop, rules, on, fake_sms, client):
    customer = CustomerFactory(tenant=line_shop, phone="080-1234-5678", email="")
    channel_consent_set(tenant=line_shop, customer=customer, channel="sms", status="opted_in", source="form")
    reminder = _due(line_shop, customer, on)
    _claim()
    reminder.refresh_from_db()
    assert reminder.channel == "sms"

    assert _send_until_done(line_shop, [reminder.pk]) == {reminder.pk: "sent"}

    [sms] = fake_sms.sent
    assert sms["to"] == "+818012345678"
    assert sms["key"] == retry_key(reminder)
    assert len(sms["text"]) <= 70 and sms["text"].startswith("【Shop A】")
    link = sms["text"].rsplit(" ", 1)[1]
    assert link.startswith("https://kizuna.example/s/")
    page = client.get(link.removeprefix("https://kizuna.example"))
    assert page.status_code == 302 and page["Location"].startswith("/u/")
    # The opt-out there stops SMS too (特定電子メール法: stop at once after a refusal)
    client.post(page["Location"])
    assert customer.channel_consents.get(channel="sms").status == "opted_out"
    customer.refresh_from_db()
    assert customer.consent == "opted_out"
    assert Interaction.objects.for_tenant(line_shop).get(customer=customer).channel == "sms"


CHANNELS = ["email", "line", "postcard", "sms"]
orders = st.lists(st.sampled_from(CHANNELS), unique=True, max_size=4)
customer_states = st.fixed_dictionaries(
    {
        "email": st.booleans(),
        "line": st.sampled_from(["none", "following", "blocked"]),
        "sms": st.sampled_from(["none", "in", "out"]),
        "postcard": st.sampled_from(["address", "refused", "none"]),
        "override": st.one_of(st.none(), orders),
    }
)


@hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(shop_order=orders, allowed=orders, people=st.lists(customer_states, min_size=1, max_size=4))
def test_property_each_due_reminder_goes_out_on_exactly_one_channel_or_one_call_task(
    tenant, rules, on, shop_order, allowed, people
):
    channel_settings_update(tenant=tenant, channel_order=",".join(shop_order))
    rule = rules["inspection"]
    rule.allowed_channels = ",".join(allowed)
    rule.save()
    expected = {}
    for p in people:
        c = CustomerFactory(
            tenant=tenant,
            consent="opted_in" if p["email"] else "unknown",
            consent_at=timezone.now(),
            postal_code="" if p["postcard"] == "none" else "150-0001",
        )
        if p["line"] != "none":
            LineContact.objects.create(
                tenant=tenant, customer=c, line_user_id=line_user_id(c.pk), following=p["line"] == "following"
            )
        if p["sms"] != "none":
            channel_consent_set(
                tenant=tenant, customer=c, channel="sms", status="opted_" + p["sms"], source="form"
            )
        if p["postcard"] == "refused":
            channel_consent_set(tenant=tenant, customer=c, channel="postcard", status="opted_out", source="x")
        if p["override"] is not None:
            channel_preference_set(tenant=tenant, customer=c, channel_order=",".join(p["override"]))
        can = {
            "email": p["email"],
            "line": p["line"] == "following",
            "sms": p["sms"] == "in",
            "postcard": p["postcard"] == "address",
        }
        order = shop_order if not p["override"] else [ch for ch in p["override"] if ch in shop_order]
        usable = [ch for ch in order if can[ch] and (not allowed or ch in allowed)]
        vehicle = VehicleFactory(customer=c, inspection_expiry=on + timedelta(days=30))
        expected[vehicle.pk] = (c, usable[0] if usable else None)
    plan_reminders(on=on)

    queued = _claim()

    for vehicle_id, (customer, channel) in expected.items():
        [r] = Reminder.objects.for_tenant(tenant).filter(vehicle_id=vehicle_id)
        tasks = CallTask.objects.for_tenant(tenant).filter(customer=customer).count()
        if channel is None:
            assert (r.status, r.channel, tasks) == ("call_task", "", 1)
            assert r.call_task_id is not None
        else:
            assert (r.status, r.channel, tasks) == ("queued", channel, 0)
            assert ((tenant.pk, r.pk) in queued) is (channel != "postcard")
