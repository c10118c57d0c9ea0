"""特定電子メール法 (Act on Regulation of Transmission of Specified Electronic Mail).

Marketing reminders go only to customers with a recorded opt-in (time and source), and every
message identifies the sender (name, address, phone, e-mail) and carries an opt-out link.
"""

from datetime import UTC, datetime

import pytest
from django.core import mail

from customers.models import Customer
from reminders.dispatch import reminders_claim_due
from reminders.models import Reminder, RuleKind
from reminders.sending import reminder_send
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

IN_WINDOW = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo
MARKETING = [
    RuleKind.BIRTHDAY,
    RuleKind.NURTURE,
    RuleKind.SEASONAL,
    RuleKind.FOLLOW_UP_SERVICE,
    RuleKind.FOLLOW_UP_PURCHASE,
]


@pytest.fixture(autouse=True)
def _locmem(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = "https://kizuna.example"


@pytest.fixture
def shop(tenant):
    tenant.sender_name = "Shop A 整備"
    tenant.sender_email = "info@shop-a.test"
    tenant.phone = "03-1234-5678"
    tenant.address = "東京都品川区1-2-3"
    tenant.save()
    return tenant


@pytest.fixture
def audience(shop, opted_in):
    """One customer per consent state, including an opt-in that was never recorded with a time."""
    people = {
        "opted_in": opted_in(shop, email="yes@example.jp"),
        "unknown": CustomerFactory(tenant=shop, email="unknown@example.jp"),
        "opted_out": CustomerFactory(tenant=shop, email="no@example.jp", consent="opted_out"),
        "unrecorded": CustomerFactory(tenant=shop, email="unrecorded@example.jp"),
    }
    # e.g. written by an old import straight into the table: opted in, but no time of consent.
    Customer.objects.for_tenant(shop).filter(pk=people["unrecorded"].pk).update(consent="opted_in")
    return people


def _plan(tenant, rule, customers, on):
    for customer in customers:
        Reminder.objects.create(
            tenant=tenant, rule=rule, step=1, customer=customer, occasion_date=on, due_date=on
        )


@pytest.mark.parametrize("kind", MARKETING)
def test_marketing_reminders_reach_only_recorded_opt_ins(shop, rules, audience, on, kind):
    _plan(shop, rules[kind], audience.values(), on)

    queued, claimed = reminders_claim_due(now=IN_WINDOW)
    for tenant_id, reminder_id in queued:
        reminder_send(tenant_id=tenant_id, reminder_id=reminder_id)

    assert claimed == 4
    assert [m.to for m in mail.outbox] == [["yes@example.jp"]]
    statuses = dict(Reminder.objects.for_tenant(shop).values_list("customer__email", "status"))
    assert statuses == {
        "yes@example.jp": "sent",
        "unknown@example.jp": "call_task",
        "no@example.jp": "call_task",
        "unrecorded@example.jp": "call_task",
    }


def test_send_time_check_also_requires_a_recorded_opt_in(shop, rules, audience, on):
    _plan(shop, rules[RuleKind.BIRTHDAY], [audience["opted_in"]], on)
    queued, _claimed = reminders_claim_due(now=IN_WINDOW)
    # The record loses its time of consent between claim and send.
    Customer.objects.for_tenant(shop).filter(pk=audience["opted_in"].pk).update(consent_at=None)

    assert reminder_send(tenant_id=queued[0][0], reminder_id=queued[0][1]) == "call_task"
    assert mail.outbox == []


@pytest.mark.parametrize("kind", MARKETING)
def test_every_message_identifies_the_sender_and_offers_opt_out(shop, rules, opted_in, on, kind):
    customer = opted_in(shop, email="yes@example.jp")
    _plan(shop, rules[kind], [customer], on)

    queued, _claimed = reminders_claim_due(now=IN_WINDOW)
    reminder_send(tenant_id=queued[0][0], reminder_id=queued[0][1])

    (message,) = mail.outbox
    for identification in ("Shop A 整備", "東京都品川区1-2-3", "03-1234-5678", "info@shop-a.test"):
        assert identification in message.body
    assert "https://kizuna.example/u/" in message.body
    assert message.extra_headers["List-Unsubscribe"].startswith("<https://kizuna.example/u/")
