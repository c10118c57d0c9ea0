"""Batched sending: one connection per batch, per-message outcomes, retries of just the failed ids,
and the customer's language choosing the template (with the unsubscribe page in that language)."""

import smtplib
from datetime import UTC, datetime, timedelta

import pytest
from django.core.mail.backends.base import BaseEmailBackend
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from interactions.models import Interaction
from reminders import tasks
from reminders.dispatch import reminders_claim_due
from reminders.models import Reminder, ReminderTemplate
from reminders.planner import plan_reminders
from reminders.sending import reminders_send_batch
from reminders.services import unsubscribe_token
from tests.factories import CustomerFactory, TenantFactory, VehicleFactory

pytestmark = pytest.mark.django_db

IN_WINDOW = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo


class RecordingBackend(BaseEmailBackend):
    """Counts connections opened; answers per recipient with a configured SMTP error, or accepts."""

    opens = 0
    closes = 0
    sent: list = []
    errors: dict = {}
    open_error: Exception | None = None

    def open(self):
        type(self).opens += 1
        if self.open_error is not None:
            raise self.open_error
        return True

    def close(self):
        type(self).closes += 1

    def send_messages(self, messages):
        for message in messages:
            error = self.errors.get(message.to[0])
            if error is not None:
                raise error
            type(self).sent.append(message)
        return len(messages)


@pytest.fixture
def backend(settings):
    settings.EMAIL_BACKEND = f"{__name__}.RecordingBackend"
    settings.SITE_URL = "https://kizuna.example"
    RecordingBackend.opens = RecordingBackend.closes = 0
    RecordingBackend.sent, RecordingBackend.errors, RecordingBackend.open_error = [], {}, None
    return RecordingBackend


@pytest.fixture
def queued(tenant, rules, opted_in, on):
    """Five opted-in customers whose 車検 is due, planned and claimed (queued)."""

    def make(n=5, **customer_fields):
        for i in range(n):
            customer = opted_in(tenant, email=f"c{i}@example.jp", **customer_fields)
            VehicleFactory(customer=customer, inspection_expiry=on + timedelta(days=30))
        plan_reminders(on=on)
        pairs, _claimed = reminders_claim_due(now=IN_WINDOW)
        return [pk for _t, pk in pairs]

    return make


def _status(tenant):
    return dict(Reminder.objects.for_tenant(tenant).values_list("customer__email", "status"))


def test_a_batch_sends_every_message_over_one_connection(tenant, backend, queued):
    ids = queued(5)

    result = reminders_send_batch(tenant_id=tenant.pk, reminder_ids=ids)

    assert result.counts() == {"sent": 5}
    assert (backend.opens, backend.closes, len(backend.sent)) == (1, 1, 5)
    assert set(_status(tenant).values()) == {"sent"}
    assert Interaction.objects.for_tenant(tenant).filter(source="reminder", channel="email").count() == 5


def test_a_second_delivery_of_the_same_batch_sends_nothing(tenant, backend, queued):
    ids = queued(3)
    reminders_send_batch(tenant_id=tenant.pk, reminder_ids=ids)

    again = reminders_send_batch(tenant_id=tenant.pk, reminder_ids=ids)

    assert again.counts() == {"not_claimed": 3}
    assert len(backend.sent) == 3
    assert Interaction.objects.for_tenant(tenant).count() == 3


def test_past_half_the_sending_lease_the_rest_is_handed_back_not_sent(tenant, backend, queued, settings):
    ids = queued(3)
    settings.REMINDER_SENDING_LEASE_SECONDS = 0  # the deadline has passed before the first message

    result = reminders_send_batch(tenant_id=tenant.pk, reminder_ids=ids)

    assert result.counts() == {"requeued": 3}
    assert sorted(result.retries[0]) == sorted(ids)
    assert backend.sent == []
    rows = Reminder.objects.for_tenant(tenant).filter(pk__in=ids)
    assert set(rows.values_list("status", "attempts")) == {("queued", 0)}  # the attempt is not counted


def test_5xx_fails_one_message_and_4xx_retries_only_that_message(tenant, backend, queued, settings):
    settings.REMINDER_RETRY_BASE_SECONDS = 60
    ids = queued(4)
    backend.errors = {
        "c1@example.jp": smtplib.SMTPRecipientsRefused({"c1@example.jp": (550, b"no such user")}),
        "c2@example.jp": smtplib.SMTPDataError(451, b"greylisted"),
    }

    result = reminders_send_batch(tenant_id=tenant.pk, reminder_ids=ids)

    c2 = Reminder.objects.for_tenant(tenant).get(customer__email="c2@example.jp")
    assert dict(result.retries) == {60: [c2.pk]}
    assert _status(tenant) == {
        "c0@example.jp": "sent",
        "c1@example.jp": "failed",
        "c2@example.jp": "queued",
        "c3@example.jp": "sent",
    }
    assert (c2.attempts, c2.reason) == (1, "SMTP 451: greylisted")
    assert "550" in Reminder.objects.for_tenant(tenant).get(customer__email="c1@example.jp").reason
    assert backend.opens == 1  # the session survives per-message answers


def test_server_down_retries_the_whole_batch_after_one_connection_attempt(tenant, backend, queued, settings):
    settings.REMINDER_RETRY_BASE_SECONDS = 30
    ids = queued(5)
    backend.open_error = ConnectionRefusedError(111, "Connection refused")

    result = reminders_send_batch(tenant_id=tenant.pk, reminder_ids=ids)

    assert dict(result.retries) == {30: sorted(ids)}
    assert backend.opens == 1  # no connect attempt (and no connect timeout) per message
    assert set(_status(tenant).values()) == {"queued"}
    assert backend.sent == []


def test_retried_ids_are_enqueued_alone_with_their_backoff(tenant, backend, queued, settings, monkeypatch):
    settings.REMINDER_RETRY_BASE_SECONDS = 60
    ids = queued(3)
    busy = Reminder.objects.for_tenant(tenant).get(customer__email="c1@example.jp")
    backend.errors = {"c1@example.jp": smtplib.SMTPDataError(421, b"busy")}
    calls = []
    monkeypatch.setattr(
        tasks.send_reminder_batch,
        "apply_async",
        lambda args, countdown=None, **kw: calls.append((args, countdown)),
    )

    counts = tasks.send_reminder_batch.run(tenant.pk, ids)

    assert counts == {"sent": 2, "retry": 1}
    assert calls == [((tenant.pk, [busy.pk]), 60)]


def test_enqueue_sends_makes_batches_of_one_tenant_each(settings, monkeypatch):
    settings.REMINDER_SEND_BATCH_SIZE = 2
    calls = []
    monkeypatch.setattr(
        tasks.send_reminder_batch, "apply_async", lambda args, countdown=None, **kw: calls.append(args)
    )

    tasks.enqueue_sends([(1, 10), (2, 20), (1, 11), (1, 12), (2, 21)])

    assert calls == [(1, [10, 11]), (1, [12]), (2, [20, 21])]


# --- language --------------------------------------------------------------------------------------
def test_the_customers_language_picks_the_template(tenant, backend, queued):
    ids = queued(1, language="en")  # the rule's template is the Japanese one

    reminders_send_batch(tenant_id=tenant.pk, reminder_ids=ids)

    msg = backend.sent[0].message()
    assert msg["Content-Language"] == "en"
    assert backend.sent[0].subject.startswith("Your vehicle inspection (shaken) is due")
    assert "To stop receiving these e-mails, unsubscribe here:" in backend.sent[0].body
    assert "車検" not in backend.sent[0].body


def test_japanese_customers_get_the_japanese_template(tenant, backend, queued):
    ids = queued(1)  # language defaults to Japanese

    reminders_send_batch(tenant_id=tenant.pk, reminder_ids=ids)

    assert backend.sent[0].message()["Content-Language"] == "ja"
    assert backend.sent[0].subject.startswith("車検のご案内")
    assert "配信停止" in backend.sent[0].body


def test_without_a_template_in_the_customers_language_the_rules_own_template_is_used(
    tenant, rules, backend, queued
):
    ReminderTemplate.objects.for_tenant(tenant).filter(
        name=rules["inspection"].template.name, language="en"
    ).delete()
    ids = queued(1, language="en")

    reminders_send_batch(tenant_id=tenant.pk, reminder_ids=ids)

    assert backend.sent[0].message()["Content-Language"] == "ja"
    assert backend.sent[0].subject.startswith("車検のご案内")


def test_another_tenants_template_of_the_same_name_is_never_used(tenant, rules, backend, queued):
    other = TenantFactory(slug="other-lang")
    ReminderTemplate.objects.for_tenant(tenant).filter(
        name=rules["inspection"].template.name, language="en"
    ).delete()
    ReminderTemplate.objects.create(
        tenant=other, name=rules["inspection"].template.name, language="en", subject="LEAK", body="LEAK"
    )
    ids = queued(1, language="en")

    reminders_send_batch(tenant_id=tenant.pk, reminder_ids=ids)

    assert "LEAK" not in backend.sent[0].subject and "LEAK" not in backend.sent[0].body


@pytest.mark.parametrize(
    ("language", "question", "done"),
    [
        ("en", "Stop these e-mails?", "You have been unsubscribed"),
        ("ja", "メールの配信を停止しますか？", None),
    ],
)
def test_unsubscribe_page_is_in_the_customers_language(tenant, language, question, done):
    customer = CustomerFactory(
        tenant=tenant, consent="opted_in", consent_at=timezone.now(), language=language
    )
    url = reverse("unsubscribe", args=[unsubscribe_token(tenant_id=tenant.pk, customer_id=customer.pk)])

    page = Client(HTTP_ACCEPT_LANGUAGE="en" if language == "ja" else "ja").get(url)

    assert page.status_code == 200
    assert question in page.content.decode()
    assert f'lang="{language}"' in page.content.decode()
    if done:
        posted = Client(HTTP_ACCEPT_LANGUAGE="ja").post(url)
        assert done in posted.content.decode()
