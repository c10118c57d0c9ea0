"""E-mail header injection, beyond customer names: hostile template subjects, placeholder values,
shop names, sender names and sender addresses, and the invitation e-mail of a hostile shop.

Each case checks the bytes that would go to the SMTP server: exactly one Subject, From and To, no
extra header (Bcc, Cc, Reply-To...), and the recipient list unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.header import decode_header, make_header

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from crm.models import Tenant
from reminders.dispatch import reminders_claim_due
from reminders.models import Reminder
from reminders.planner import plan_reminders
from reminders.sending import reminder_send
from tests.factories import VehicleFactory

pytestmark = pytest.mark.django_db

IN_WINDOW = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)
VICTIM = "victim@evil.example"
# CR/LF, a bare CR, Unicode line breaks (NEL, LINE SEPARATOR) and an encoded-word attempt.
HOSTILE = [
    f"点検のご案内\r\nBcc: {VICTIM}",
    f"点検\nCc: {VICTIM}\n\nInjected body",
    f"点検\rReply-To: {VICTIM}",
    f"点検\u0085Bcc: {VICTIM}",
    f"点検\u2028Bcc: {VICTIM}",
    f"=?utf-8?q?x?=\r\n Bcc: {VICTIM}",
]
EXTRA_HEADERS = ("Bcc", "Cc", "Reply-To", "Sender", "Return-Path")
# Every header a reminder or an invitation carries; anything else was injected.
ALLOWED_HEADERS = {
    "Content-Type",
    "MIME-Version",
    "Content-Transfer-Encoding",
    "Subject",
    "From",
    "To",
    "Date",
    "Message-ID",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "Content-Language",
    "X-Kizuna-Tenant",
    "X-Kizuna-Reminder",
}


@pytest.fixture(autouse=True)
def _locmem(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = "https://kizuna.example"


@pytest.fixture
def due(tenant, rules, opted_in, on):
    """An opted-in customer due for 車検, planned and claimed; returns (customer, vehicle)."""
    customer = opted_in(tenant, email="customer@example.jp")
    vehicle = VehicleFactory(customer=customer, inspection_expiry=on + timedelta(days=30))
    return customer, vehicle


def _send(tenant, on) -> Reminder:
    plan_reminders(on=on)
    reminders_claim_due(now=IN_WINDOW)
    reminder = Reminder.objects.for_tenant(tenant).get()
    reminder_send(tenant_id=tenant.pk, reminder_id=reminder.pk)
    reminder.refresh_from_db()
    return reminder


def assert_single_recipient_and_no_injected_header(message, recipient: str) -> None:
    raw = message.message().as_bytes()
    parsed = message_from_bytes(raw)
    for name in EXTRA_HEADERS:
        assert parsed.get_all(name) is None, (name, raw[:600])
    for name in ("Subject", "From", "To"):
        assert len(parsed.get_all(name) or []) == 1, (name, raw[:600])
    assert set(parsed.keys()) <= ALLOWED_HEADERS, set(parsed.keys()) - ALLOWED_HEADERS
    assert message.recipients() == [recipient]
    assert "\n" not in message.subject and "\r" not in message.subject
    assert "\n" not in message.from_email and "\r" not in message.from_email
    decoded = str(make_header(decode_header(parsed["Subject"])))
    assert "\n" not in decoded and "\r" not in decoded


@pytest.mark.parametrize("hostile", HOSTILE)
def test_template_subject_with_line_breaks_stays_one_header(tenant, rules, due, on, hostile):
    customer, _vehicle = due
    template = rules["inspection"].template
    template.subject = hostile
    template.save()

    reminder = _send(tenant, on)

    assert reminder.status == "sent"
    assert len(mail.outbox) == 1
    assert_single_recipient_and_no_injected_header(mail.outbox[0], customer.email)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_placeholder_values_with_line_breaks_stay_in_the_subject(tenant, rules, due, on, hostile):
    customer, vehicle = due
    vehicle.maker = hostile
    vehicle.model_name = hostile
    vehicle.plate_number = hostile[:20]
    vehicle.save()
    Tenant.objects.filter(pk=tenant.pk).update(phone=hostile[:20], address=hostile)
    template = rules["inspection"].template
    template.subject = "{{ vehicle }} {{ plate_number }} {{ shop_name }} {{ shop_phone }} {{ shop_address }}"
    template.save()

    reminder = _send(tenant, on)

    assert reminder.status == "sent"
    assert_single_recipient_and_no_injected_header(mail.outbox[0], customer.email)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_shop_name_as_sender_name(tenant, rules, due, on, hostile):
    """Without a sender name the shop's name is the display name of From."""
    customer, _vehicle = due
    Tenant.objects.filter(pk=tenant.pk).update(name=hostile, sender_name="")
    template = rules["inspection"].template
    template.subject = "{{ shop_name }}"
    template.save()

    reminder = _send(tenant, on)

    assert reminder.status == "sent"
    message = mail.outbox[0]
    assert_single_recipient_and_no_injected_header(message, customer.email)
    assert message.from_email.endswith(f"<{tenant.sender_email}>")


@pytest.mark.parametrize(
    "sender_email",
    [
        f"info@shop-a.test\r\nBcc: {VICTIM}",
        f"info@shop-a.test\nReply-To: {VICTIM}",
        "info@shop-a.test\u2028x",
    ],
)
def test_hostile_sender_address_never_reaches_the_headers(tenant, rules, due, on, sender_email):
    """The settings form validates the address; a row written some other way must still be harmless."""
    customer, _vehicle = due
    Tenant.objects.filter(pk=tenant.pk).update(sender_email=sender_email)

    reminder = _send(tenant, on)

    # The shop's address is not a valid one: the message goes out from the platform's address.
    assert reminder.status == "sent"
    message = mail.outbox[0]
    assert_single_recipient_and_no_injected_header(message, customer.email)
    assert message.from_email == settings.DEFAULT_FROM_EMAIL
    assert "evil" not in message.message()["Message-ID"]


def test_hostile_shop_name_in_the_invitation_subject(owner_client, tenant, mailoutbox):
    Tenant.objects.filter(pk=tenant.pk).update(name=f"Shop\r\nBcc: {VICTIM}")

    owner_client.post("/settings/members/", {"email": "new@shop-a.test", "role": "staff"})

    assert len(mailoutbox) == 1
    assert_single_recipient_and_no_injected_header(mailoutbox[0], "new@shop-a.test")


def test_hostile_name_in_an_opt_in_customer_does_not_change_the_recipient(tenant, rules, opted_in, on):
    customer = opted_in(
        tenant,
        family_name=f"山田\r\nTo: {VICTIM}",
        given_name=f"太郎\nBcc: {VICTIM}",
        email="yamada@example.jp",
    )
    VehicleFactory(customer=customer, inspection_expiry=on + timedelta(days=30))
    template = rules["inspection"].template
    template.subject = "{{ customer_name }}\r\nBcc: {{ customer_family_name }}"
    template.save()

    reminder = _send(tenant, on)

    assert reminder.status == "sent"
    assert_single_recipient_and_no_injected_header(mail.outbox[0], "yamada@example.jp")
    assert timezone.now()  # the send happened in this test's clock
