"""From a planned row to an e-mail: headers, consent at send time, retries, failures, call tasks."""

import smtplib
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.header import decode_header, make_header

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from customers.models import Consent
from customers.services import customer_set_consent
from interactions.models import CallTask, Interaction
from reminders.dispatch import reminders_claim_due, reminders_sweep_stuck
from reminders.models import Reminder, ReminderStatus
from reminders.planner import plan_reminders
from reminders.sending import RetryableSendError, reminder_send
from tests.factories import CustomerFactory, PurchaseFactory, ServiceRecordFactory, VehicleFactory

pytestmark = pytest.mark.django_db

# 10:00 in Tokyo on the planning day: inside the default 9:00–19:00 window.
IN_WINDOW = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _locmem(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = "https://kizuna.example"


@pytest.fixture
def due_inspection(tenant, rules, opted_in, on, staff):
    """An opted-in customer whose car's 車検 expires in 30 days, planned and claimed."""
    tenant.address = "東京都品川区1-2-3"
    tenant.sender_name = "Shop A 整備"
    tenant.save()
    customer = opted_in(tenant, assigned_staff=staff)
    vehicle = VehicleFactory(
        customer=customer, inspection_expiry=on + timedelta(days=30), plate_number="品川 300 さ 12-34"
    )
    plan_reminders(on=on)
    return Reminder.objects.for_tenant(tenant).get(vehicle=vehicle)


def _claim():
    queued, _claimed = reminders_claim_due(now=IN_WINDOW)
    return queued


def test_a_due_reminder_is_sent_once_with_sender_unsubscribe_and_message_id(tenant, due_inspection):
    assert _claim() == [(tenant.pk, due_inspection.pk)]

    assert reminder_send(tenant_id=tenant.pk, reminder_id=due_inspection.pk) == "sent"

    assert len(mail.outbox) == 1
    msg = mail.outbox[0].message()
    assert str(make_header(decode_header(msg["From"]))) == "Shop A 整備 <info@shop-a.test>"
    assert mail.outbox[0].to == [due_inspection.customer.email]
    assert msg["Message-ID"] == f"<reminder.{tenant.pk}.{due_inspection.pk}@shop-a.test>"
    assert msg["List-Unsubscribe"].startswith("<https://kizuna.example/u/")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["X-Kizuna-Tenant"] == "shop-a"
    assert msg["Content-Language"] == "ja"
    assert mail.outbox[0].subject == "車検のご案内（品川 300 さ 12-34）"
    body = mail.outbox[0].body
    assert f"{due_inspection.customer.full_name} 様" in body
    assert "2026年7月1日" in body
    for identification in ("Shop A 整備", "東京都品川区1-2-3", "03-1234-5678", "https://kizuna.example/u/"):
        assert identification in body
    due_inspection.refresh_from_db()
    assert (due_inspection.status, due_inspection.attempts) == ("sent", 1)
    interaction = Interaction.objects.for_tenant(tenant).get(customer=due_inspection.customer)
    assert (interaction.channel, interaction.source, interaction.topic) == ("email", "reminder", "inspection")

    # A second delivery of the same task sends nothing.
    assert reminder_send(tenant_id=tenant.pk, reminder_id=due_inspection.pk) == "not_claimed"
    assert len(mail.outbox) == 1


def test_customers_without_consent_or_address_become_call_tasks_for_their_staff(tenant, rules, on, staff):
    no_consent = CustomerFactory(tenant=tenant, assigned_staff=staff)
    no_address = CustomerFactory(tenant=tenant, email="", consent="opted_in", consent_at=timezone.now())
    for customer in (no_consent, no_address):
        VehicleFactory(customer=customer, inspection_expiry=on + timedelta(days=30))
    plan_reminders(on=on)

    assert _claim() == []

    assert mail.outbox == []
    rows = Reminder.objects.for_tenant(tenant).order_by("customer_id")
    assert [(r.customer_id, r.status, r.reason) for r in rows] == [
        (no_consent.pk, "call_task", "no e-mail consent"),
        (no_address.pk, "call_task", "no e-mail address"),
    ]
    task = CallTask.objects.for_tenant(tenant).get(customer=no_consent)
    assert (task.assigned_to, task.status, task.reason) == (staff, "open", "車検のご案内 (no e-mail consent)")
    assert rows[0].call_task_id == task.pk


def test_opt_out_between_planning_and_sending_stops_the_email(tenant, due_inspection):
    customer_set_consent(
        tenant=tenant, customer=due_inspection.customer, consent=Consent.OPTED_OUT, source="phone"
    )

    _claim()

    assert mail.outbox == []
    due_inspection.refresh_from_db()
    assert (due_inspection.status, due_inspection.reason) == ("call_task", "opted out")


def test_opt_out_after_dispatch_is_checked_again_at_send_time(tenant, due_inspection):
    _claim()
    customer_set_consent(
        tenant=tenant, customer=due_inspection.customer, consent=Consent.OPTED_OUT, source="phone"
    )

    assert reminder_send(tenant_id=tenant.pk, reminder_id=due_inspection.pk) == "call_task"

    assert mail.outbox == []
    assert CallTask.objects.for_tenant(tenant).filter(customer=due_inspection.customer).count() == 1


def test_nothing_is_claimed_outside_the_tenants_send_window(tenant, due_inspection):
    night = datetime(2026, 6, 1, 14, 0, tzinfo=UTC)  # 23:00 in Tokyo
    assert reminders_claim_due(now=night) == ([], 0)
    due_inspection.refresh_from_db()
    assert due_inspection.status == "pending"


class FailingConnection:
    def __init__(self, exc):
        self.exc = exc

    def send_messages(self, messages):
        raise self.exc


def test_smtp_4xx_is_retried_with_capped_backoff(tenant, due_inspection, settings):
    settings.REMINDER_RETRY_BASE_SECONDS = 60
    settings.REMINDER_RETRY_CAP_SECONDS = 200
    _claim()
    busy = FailingConnection(smtplib.SMTPDataError(451, b"try again later"))

    countdowns = []
    for _attempt in range(4):
        with pytest.raises(RetryableSendError) as exc:
            reminder_send(tenant_id=tenant.pk, reminder_id=due_inspection.pk, connection=busy)
        countdowns.append(exc.value.countdown)

    assert countdowns == [60, 120, 200, 200]
    due_inspection.refresh_from_db()
    assert (due_inspection.status, due_inspection.attempts) == ("queued", 4)
    assert due_inspection.reason == "SMTP 451: try again later"


def test_connection_refused_is_retried_then_given_up_after_max_attempts(tenant, due_inspection, settings):
    settings.REMINDER_MAX_ATTEMPTS = 2
    _claim()
    down = FailingConnection(ConnectionRefusedError(111, "Connection refused"))
    with pytest.raises(RetryableSendError):
        reminder_send(tenant_id=tenant.pk, reminder_id=due_inspection.pk, connection=down)

    assert reminder_send(tenant_id=tenant.pk, reminder_id=due_inspection.pk, connection=down) == "failed"

    due_inspection.refresh_from_db()
    assert due_inspection.status == "failed"
    assert due_inspection.reason.startswith("gave up after 2 attempts: connection error")


def test_smtp_5xx_fails_without_retry_and_shows_the_reason(tenant, due_inspection):
    _claim()
    rejected = FailingConnection(smtplib.SMTPRecipientsRefused({"x@example.jp": (550, b"no such user")}))

    assert reminder_send(tenant_id=tenant.pk, reminder_id=due_inspection.pk, connection=rejected) == "failed"

    due_inspection.refresh_from_db()
    assert (due_inspection.status, due_inspection.attempts) == ("failed", 1)
    assert "550" in due_inspection.reason
    assert Interaction.objects.for_tenant(tenant).count() == 0


def test_sweeper_requeues_rows_stuck_in_sending_after_the_lease(tenant, due_inspection, settings):
    settings.REMINDER_SENDING_LEASE_SECONDS = 600
    _claim()
    Reminder.objects.for_tenant(tenant).filter(pk=due_inspection.pk).update(
        status="sending", sending_started_at=timezone.now() - timedelta(seconds=601)
    )
    fresh = []

    swept = reminders_sweep_stuck()
    fresh = reminders_sweep_stuck()

    assert swept == [(tenant.pk, due_inspection.pk)]
    assert fresh == []
    assert reminder_send(tenant_id=tenant.pk, reminder_id=due_inspection.pk) == "sent"


def test_after_expiry_reminder_is_skipped_when_shaken_is_recorded_after_planning(tenant, rules, opted_in, on):
    vehicle = VehicleFactory(customer=opted_in(tenant), inspection_expiry=on - timedelta(days=7))
    plan_reminders(on=on)
    ServiceRecordFactory(vehicle=vehicle, kind="shaken", date=on - timedelta(days=1))
    _claim()
    reminder = Reminder.objects.for_tenant(tenant).get()

    assert reminder_send(tenant_id=tenant.pk, reminder_id=reminder.pk) == "skipped"

    reminder.refresh_from_db()
    assert reminder.reason == "車検 already recorded"
    assert mail.outbox == []


def test_nurture_step_is_skipped_when_the_customer_bought_again_before_sending(tenant, rules, opted_in, on):
    customer = opted_in(tenant)
    PurchaseFactory(customer=customer, date=on - timedelta(days=14))
    plan_reminders(on=on)
    PurchaseFactory(customer=customer, date=on - timedelta(days=1))
    _claim()
    reminder = Reminder.objects.for_tenant(tenant).get(rule__kind="nurture")

    assert reminder_send(tenant_id=tenant.pk, reminder_id=reminder.pk) == "skipped"
    assert mail.outbox == []


@pytest.mark.parametrize(
    "hostile",
    ["山田\r\nBcc: victim@example.com", "山田\nSubject: spoofed", "山田\r\n\r\nInjected body"],
)
def test_hostile_names_cannot_inject_headers(tenant, rules, on, hostile):
    tenant.sender_name = f"Evil{hostile}"
    tenant.save()
    customer = CustomerFactory(
        tenant=tenant, family_name=hostile, consent="opted_in", consent_at=timezone.now()
    )
    VehicleFactory(customer=customer, inspection_expiry=on + timedelta(days=30), plate_number=hostile[:10])
    template = rules["inspection"].template
    template.subject = "{{ customer_name }} {{ plate_number }}"
    template.save()
    plan_reminders(on=on)
    _claim()
    reminder = Reminder.objects.for_tenant(tenant).get()

    assert reminder_send(tenant_id=tenant.pk, reminder_id=reminder.pk) == "sent"

    raw = mail.outbox[0].message().as_bytes()
    parsed = message_from_bytes(raw)
    assert parsed.get_all("Bcc") is None
    assert parsed.get_all("Subject") and len(parsed.get_all("Subject")) == 1
    assert "\n" not in mail.outbox[0].subject and "\r" not in mail.outbox[0].subject
    assert "\n" not in mail.outbox[0].from_email
    assert mail.outbox[0].recipients() == [customer.email]


def test_hostile_recipient_address_fails_visibly_and_sends_nothing(tenant, rules, on):
    customer = CustomerFactory(
        tenant=tenant,
        email="a@example.jp\nBcc: victim@example.com",
        consent="opted_in",
        consent_at=timezone.now(),
    )
    VehicleFactory(customer=customer, inspection_expiry=on + timedelta(days=30))
    plan_reminders(on=on)
    _claim()
    reminder = Reminder.objects.for_tenant(tenant).get()

    status = reminder_send(tenant_id=tenant.pk, reminder_id=reminder.pk)

    assert status == "failed"
    assert mail.outbox == []
    reminder.refresh_from_db()
    assert reminder.reason == "invalid e-mail address"


def test_dispatch_command_sends_into_the_outbox_folder(tenant, due_inspection, settings, monkeypatch):
    settings.EMAIL_BACKEND = "crm.common.mail.OutboxEmailBackend"
    monkeypatch.setattr("reminders.dispatch.timezone.now", lambda: IN_WINDOW)

    call_command("dispatch_reminders")

    files = list(settings.OUTBOX_DIR.glob("*.eml"))
    assert len(files) == 1
    parsed = message_from_bytes(files[0].read_bytes())
    assert parsed["X-Kizuna-Tenant"] == "shop-a"
    due_inspection.refresh_from_db()
    assert due_inspection.status == ReminderStatus.SENT


def test_the_dispatch_benchmark_sink_finds_the_reminder_id_in_the_bytes_on_the_wire(tenant, due_inspection):
    """bench_reminders --dispatch counts distinct reminders (and so duplicates) by this header."""
    from benchmarks.management.commands.bench_reminders import _REMINDER_HEADER

    _claim()
    assert reminder_send(tenant_id=tenant.pk, reminder_id=due_inspection.pk) == "sent"

    wire = mail.outbox[0].message().as_bytes(linesep="\r\n")  # what Django's SMTP backend sends
    match = _REMINDER_HEADER.search(wire)
    assert match is not None
    assert int(match.group(1)) == due_inspection.pk
