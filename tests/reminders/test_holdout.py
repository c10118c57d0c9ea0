"""Holdout assignment: the hash (Python = SQLite = PostgreSQL), its share over 10,000 customers,
stability across re-planning and steps, and held-out customers receiving nothing on any channel."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from channels.models import LineContact
from channels.services import channel_consent_set
from customers.models import Customer
from interactions.models import CallTask
from reminders.dispatch import reminders_claim_due, reminders_sweep_stuck
from reminders.holdout import holdout_bucket, holdout_bucket_sql, is_held_out
from reminders.models import Reminder, ReminderStatus
from reminders.planner import plan_reminders
from reminders.postcards.services import postcard_candidates
from reminders.sending import reminders_send_batch
from reminders.services import reminder_rule_create
from tests.factories import CustomerFactory, VehicleFactory
from tests.reminders.test_real_delivery import SmtpServer

pytestmark = pytest.mark.django_db

IN_WINDOW = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo on the planner's "today"


def _db_bucket(tenant_id, rule_id, customer_id, salt) -> int:
    expr = holdout_bucket_sql(
        pg=connection.vendor == "postgresql", tenant="%s", rule="%s", customer="%s", salt="%s"
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {expr}", [tenant_id, rule_id, customer_id, salt])
        return cursor.fetchone()[0]


def test_the_hash_is_the_documented_md5_bucket_in_python_and_in_the_database(db):
    # md5("1:2:3:abc") starts with d2b0d1bf = 3534756799 (computed with psql and hashlib outside this code)
    assert holdout_bucket(1, 2, 3, "abc") == 6799
    cases = [(1, 2, 3, "abc"), (7, 123456, 9876543210, "f00dfeed12345678"), (999999, 1, 1, "")]
    for case in cases:
        assert _db_bucket(*case) == holdout_bucket(*case)
    assert _db_bucket(1, 2, 3, "abc") == 6799


def _birthday_rule(tenant, rules, *, percent, salt="fixed-salt", offsets=(0,)):
    rule = rules["birthday"]
    rule.holdout_percent, rule.holdout_salt = percent, salt
    rule.save()
    if offsets != (0,):
        rule.steps.all().delete()
        for i, o in enumerate(offsets, start=1):
            rule.steps.create(tenant=tenant, step=i, offset_days=o)
    return rule


def _many_customers(tenant, n, birthday=date(1980, 6, 1)):
    Customer.objects.bulk_create(
        [
            Customer(tenant=tenant, family_name="山田", given_name=f"{i}", birthday=birthday, email="")
            for i in range(n)
        ],
        batch_size=2000,
    )


def test_ten_percent_over_ten_thousand_customers_is_within_one_and_a_half_points(tenant, rules, on):
    rule = _birthday_rule(tenant, rules, percent=10)
    _many_customers(tenant, 10_000)

    plan_reminders(on=on, tenant_id=tenant.pk)

    rows = list(Reminder.objects.for_tenant(tenant).filter(rule=rule).values_list("customer_id", "status"))
    assert len(rows) == 10_000
    held = sum(1 for _c, s in rows if s == ReminderStatus.HELD_OUT)
    assert 850 <= held <= 1150, held
    assert {s for _c, s in rows} == {ReminderStatus.HELD_OUT, ReminderStatus.PENDING}
    # Each row's status is exactly the Python definition of the hash.
    for customer_id, status in rows:
        expected = is_held_out(tenant.pk, rule.pk, customer_id, "fixed-salt", 10)
        assert (status == ReminderStatus.HELD_OUT) is expected


def test_holdout_zero_holds_nobody_out(tenant, rules, on):
    _birthday_rule(tenant, rules, percent=0)
    _many_customers(tenant, 500)

    plan_reminders(on=on, tenant_id=tenant.pk)

    statuses = set(Reminder.objects.for_tenant(tenant).values_list("status", flat=True))
    assert statuses == {ReminderStatus.PENDING}


def test_assignment_is_stable_across_replanning_and_the_same_for_every_step(tenant, rules, on):
    rule = _birthday_rule(tenant, rules, percent=30, offsets=(-2, 0))
    _many_customers(tenant, 400)

    plan_reminders(on=on, tenant_id=tenant.pk)
    first = set(
        Reminder.objects.for_tenant(tenant)
        .filter(rule=rule, status=ReminderStatus.HELD_OUT)
        .values_list("customer_id", "step")
    )
    held_customers = {c for c, _s in first}
    # every held-out customer is held out of both steps
    assert first == {(c, s) for c in held_customers for s in (1, 2)}
    assert 60 <= len(held_customers) <= 180

    # Planning again the next day, and from scratch, gives the same customers.
    plan_reminders(on=on + timedelta(days=1), tenant_id=tenant.pk)
    Reminder.objects.for_tenant(tenant).filter(rule=rule).delete()
    plan_reminders(on=on, tenant_id=tenant.pk)
    again = set(
        Reminder.objects.for_tenant(tenant)
        .filter(rule=rule, status=ReminderStatus.HELD_OUT)
        .values_list("customer_id", flat=True)
    )
    assert again == held_customers


def test_a_new_salt_redraws_the_group(tenant, rules, on):
    rule = _birthday_rule(tenant, rules, percent=30)
    _many_customers(tenant, 300)
    plan_reminders(on=on, tenant_id=tenant.pk)
    before = set(
        Reminder.objects.for_tenant(tenant).filter(status="held_out").values_list("customer_id", flat=True)
    )
    Reminder.objects.for_tenant(tenant).delete()
    rule.holdout_salt = "another-salt"
    rule.save()
    plan_reminders(on=on, tenant_id=tenant.pk)
    after = set(
        Reminder.objects.for_tenant(tenant).filter(status="held_out").values_list("customer_id", flat=True)
    )
    assert before != after
    assert after == {
        c
        for c in Customer.objects.for_tenant(tenant).values_list("pk", flat=True)
        if is_held_out(tenant.pk, rule.pk, c, "another-salt", 30)
    }


def test_rules_and_campaign_rules_of_one_customer_are_drawn_independently(tenant, rules):
    # The rule id is part of the hash: being held out of one rule says nothing about another.
    other = reminder_rule_create(
        tenant=tenant, name="x", kind="birthday", template=rules["birthday"].template, holdout_percent=50
    )
    draws = [
        (
            is_held_out(tenant.pk, rules["birthday"].pk, c, "s", 50),
            is_held_out(tenant.pk, other.pk, c, "s", 50),
        )
        for c in range(1, 401)
    ]
    assert sum(1 for a, b in draws if a != b) > 100


# --- nothing on any channel ------------------------------------------------------------------------
@pytest.fixture
def smtp(settings):
    server = SmtpServer()
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.SITE_URL = "https://kizuna.example"
    yield server
    server.stop()


GROUPS = ("line", "email", "sms", "postcard", "call")


def _customer(tenant, group, follower):
    common = {"consent": "unknown", "phone": "", "postal_code": "", "address": "", "prefecture": ""}
    if group == "line":
        return follower(tenant, **common)
    if group == "email":
        return CustomerFactory(
            tenant=tenant, **{**common, "consent": "opted_in", "consent_at": timezone.now()}
        )
    if group == "sms":
        c = CustomerFactory(tenant=tenant, **{**common, "phone": "080-1234-5678"})
        channel_consent_set(tenant=tenant, customer=c, channel="sms", status="opted_in", source="form")
        return c
    if group == "postcard":
        return CustomerFactory(
            tenant=tenant,
            **{**common, "postal_code": "150-0001", "prefecture": "東京都", "address": "渋谷区1-1"},
        )
    return CustomerFactory(tenant=tenant, **{**common, "email": ""})


def test_held_out_customers_receive_nothing_on_any_channel(
    line_shop, rules, on, follower, fake_line, fake_sms, smtp
):
    tenant = line_shop
    rule = rules["inspection"]
    people = {g: [_customer(tenant, g, follower) for _ in range(4)] for g in GROUPS}
    for group in people.values():
        for c in group:
            VehicleFactory(customer=c, inspection_expiry=on + timedelta(days=30))
    # A salt under which every channel group has held-out and treated customers (found, not hoped for).
    salt = next(
        f"s{i}"
        for i in range(1000)
        if all(
            0 < sum(is_held_out(tenant.pk, rule.pk, c.pk, f"s{i}", 50) for c in group) < len(group)
            for group in people.values()
        )
    )
    rule.holdout_percent, rule.holdout_salt = 50, salt
    rule.save()
    held = {c.pk for g in people.values() for c in g if is_held_out(tenant.pk, rule.pk, c.pk, salt, 50)}
    treated = {c.pk for g in people.values() for c in g} - held

    plan_reminders(on=on, tenant_id=tenant.pk)
    queued, _claimed = reminders_claim_due(now=IN_WINDOW)
    ids = [pk for _t, pk in queued]
    for _ in range(5):
        result = reminders_send_batch(tenant_id=tenant.pk, reminder_ids=ids)
        ids = sorted({pk for pks in result.retries.values() for pk in pks})
        if not ids:
            break
    reminders_sweep_stuck(now=IN_WINDOW + timedelta(hours=6))
    # What the next print batch would print (building one renders the PDF, which needs the IPAex fonts).
    cards = set(
        postcard_candidates(tenant=tenant, due_until=on + timedelta(days=60)).values_list(
            "customer_id", flat=True
        )
    )

    by_customer = dict(Reminder.objects.for_tenant(tenant).values_list("customer_id", "status"))
    assert {c for c, s in by_customer.items() if s == "held_out"} == held
    assert {by_customer[c] for c in treated} <= {"sent", "queued", "call_task"}
    emails = {c.email for c in Customer.objects.for_tenant(tenant).filter(pk__in=held)}
    phones = {"+818012345678"}
    contact = dict(LineContact.objects.for_tenant(tenant).values_list("customer_id", "line_user_id"))
    line_ids = {contact[c.pk] for c in people["line"] if c.pk in held}
    received = {a.addr_spec for m in smtp.handler.messages for a in m["To"].addresses}
    assert received == {c.email for c in people["email"] if c.pk in treated}
    assert received.isdisjoint(emails)
    assert {d["to"] for d in fake_line.delivered} == {
        contact[c.pk] for c in people["line"] if c.pk in treated
    }
    assert not line_ids & {d["to"] for d in fake_line.delivered}
    sms_treated = sum(1 for c in people["sms"] if c.pk in treated)
    assert len(fake_sms.sent) == sms_treated and {s["to"] for s in fake_sms.sent} == phones
    assert cards == {c.pk for c in people["postcard"] if c.pk in treated}
    called = set(CallTask.objects.for_tenant(tenant).values_list("customer_id", flat=True))
    assert called == {c.pk for c in people["call"] if c.pk in treated}
