"""Sending one reminder: pending work becomes an e-mail exactly once, or a visible failure.

States: queued → sending → sent / failed (or call_task / skipped after the send-time checks). Each move
is a guarded UPDATE (`WHERE status = <expected>`), so two deliveries of the same task never both send.
"""

from __future__ import annotations

import contextlib
import os
import smtplib
import threading
from datetime import timedelta
from email.utils import formataddr
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format

from crm.models import Tenant
from customers.models import Purchase, ServiceKind, ServiceRecord
from interactions.models import Channel, InteractionSource, Topic
from interactions.services import interaction_create
from reminders.models import Reminder, ReminderStatus, ReminderStep, RuleKind
from reminders.planner import SHAKEN_DONE_WINDOW_DAYS
from reminders.services import unsubscribe_token
from reminders.templating import TemplateRejected, render_email


def _setting(name: str, default: int) -> int:
    """Tunables: settings first, then the environment (lets tests shorten them for a worker subprocess)."""
    return int(getattr(settings, name, os.environ.get(name, default)))


def retry_base_seconds() -> int:
    return _setting("REMINDER_RETRY_BASE_SECONDS", 60)


def retry_cap_seconds() -> int:
    # Stays below the broker's visibility_timeout (3600 s): a countdown longer than that would make
    # Redis redeliver the waiting task to a second worker.
    return min(_setting("REMINDER_RETRY_CAP_SECONDS", 1800), 3000)


def max_attempts() -> int:
    return _setting("REMINDER_MAX_ATTEMPTS", 8)


def sending_lease_seconds() -> int:
    return _setting("REMINDER_SENDING_LEASE_SECONDS", 900)


def queued_lease_seconds() -> int:
    return _setting("REMINDER_QUEUED_LEASE_SECONDS", 3900)


class RetryableSendError(Exception):
    def __init__(self, reason: str, countdown: int):
        super().__init__(reason)
        self.countdown = countdown


TOPIC_BY_KIND = {
    RuleKind.INSPECTION: Topic.INSPECTION,
    RuleKind.CHECK_12M: Topic.INSPECTION,
    RuleKind.CHECK_6M: Topic.INSPECTION,
    RuleKind.FOLLOW_UP_SERVICE: Topic.SERVICE,
    RuleKind.SEASONAL: Topic.SERVICE,
}


# --- the message ----------------------------------------------------------------------------------
def _one_line(value: str) -> str:
    """Header-safe text: every run of whitespace (including CR/LF) becomes one space."""
    return " ".join(str(value).split())


def sender_address(tenant: Tenant) -> str:
    if not tenant.sender_email:
        return settings.DEFAULT_FROM_EMAIL
    return formataddr((_one_line(tenant.sender_name or tenant.name), tenant.sender_email))


def message_id(reminder: Reminder) -> str:
    """Deterministic: a resend of one reminder carries the same Message-ID, so it can be de-duplicated."""
    domain = "kizuna.localhost"
    if reminder.tenant.sender_email and "@" in reminder.tenant.sender_email:
        domain = reminder.tenant.sender_email.rsplit("@", 1)[1]
    return f"<reminder.{reminder.tenant_id}.{reminder.pk}@{domain}>"


def unsubscribe_url(*, tenant_id: int, customer_id: int) -> str:
    token = unsubscribe_token(tenant_id=tenant_id, customer_id=customer_id)
    return settings.SITE_URL.rstrip("/") + reverse("unsubscribe", args=[token])


def template_context(reminder: Reminder, language: str) -> dict[str, str]:
    customer, vehicle, tenant = reminder.customer, reminder.vehicle, reminder.tenant
    with translation.override(language):
        expiry = vehicle.inspection_expiry if vehicle else None
        name = customer.full_name
        return {
            "customer_name": f"{name} 様" if language == "ja" else name,
            "customer_family_name": customer.family_name,
            "vehicle": f"{vehicle.maker} {vehicle.model_name}" if vehicle else "",
            "plate_number": vehicle.plate_number if vehicle else "",
            "inspection_expiry": date_format(expiry, "DATE_FORMAT") if expiry else "",
            "due_date": date_format(reminder.occasion_date, "DATE_FORMAT"),
            "shop_name": tenant.name,
            "shop_phone": tenant.phone,
            "shop_address": tenant.address,
            "staff_name": str(customer.assigned_staff) if customer.assigned_staff else "",
        }


FOOTER = {
    "ja": "\n\n――――――――――\n送信者：{name}\n住所：{address}\n電話：{phone}\n"
    "今後このようなメールの配信を希望されない場合は、こちらから配信停止できます：\n{url}\n",
    "en": "\n\n----------\nSent by: {name}\nAddress: {address}\nPhone: {phone}\n"
    "To stop receiving these e-mails, unsubscribe here:\n{url}\n",
}


def build_message(reminder: Reminder, connection: Any = None) -> EmailMessage:
    """The e-mail of one reminder, with sender identification and opt-out (特定電子メール法)."""
    template = reminder.rule.template
    language = template.language
    rendered = render_email(
        subject=template.subject, body=template.body, context=template_context(reminder, language)
    )
    tenant = reminder.tenant
    url = unsubscribe_url(tenant_id=reminder.tenant_id, customer_id=reminder.customer_id)
    footer = FOOTER.get(language, FOOTER["en"]).format(
        name=tenant.sender_name or tenant.name, address=tenant.address, phone=tenant.phone, url=url
    )
    return EmailMessage(
        subject=rendered.subject,
        body=rendered.body + footer,
        from_email=sender_address(tenant),
        to=[reminder.customer.email],
        connection=connection,
        headers={
            "Message-ID": message_id(reminder),
            "List-Unsubscribe": f"<{url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Content-Language": language,
            "X-Kizuna-Tenant": tenant.slug,
            "X-Kizuna-Reminder": str(reminder.pk),
        },
    )


# --- connection reuse -----------------------------------------------------------------------------
_local = threading.local()


def _backend_key() -> tuple:
    return (settings.EMAIL_BACKEND, getattr(settings, "EMAIL_HOST", ""), getattr(settings, "EMAIL_PORT", 0))


def shared_connection():
    """One open e-mail connection per worker process (thread), reused across messages."""
    conn = getattr(_local, "connection", None)
    if conn is None or getattr(_local, "key", None) != _backend_key():
        drop_shared_connection()
        conn = get_connection(fail_silently=False)
        _local.connection, _local.key = conn, _backend_key()
    return conn


def drop_shared_connection() -> None:
    conn = getattr(_local, "connection", None)
    _local.connection = None
    if conn is not None:
        with contextlib.suppress(Exception):  # a broken connection may fail to close; it is dropped anyway
            conn.close()


def _deliver(message: EmailMessage, connection: Any) -> None:
    if connection is not None:
        message.connection = connection
        message.send()
        return
    conn = shared_connection()
    message.connection = conn
    try:
        if getattr(conn, "connection", True) is None:
            conn.open()
        message.send()
    except smtplib.SMTPServerDisconnected:
        # An idle kept-alive connection closed by the server: reconnect once, then let errors through.
        drop_shared_connection()
        conn = shared_connection()
        conn.open()
        message.connection = conn
        message.send()
    except Exception:
        drop_shared_connection()
        raise


def _classify(exc: Exception) -> tuple[bool, str]:
    """(retryable?, reason). Connection problems and SMTP 4xx are retried; 5xx and the rest are final."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        retry = all(400 <= code < 500 for code in codes)
        return retry, f"SMTP recipients refused: {exc.recipients}"
    if isinstance(exc, smtplib.SMTPResponseException):
        msg = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        return 400 <= exc.smtp_code < 500, f"SMTP {exc.smtp_code}: {msg}"
    if isinstance(exc, smtplib.SMTPServerDisconnected | ConnectionError | TimeoutError | OSError):
        return True, f"connection error: {exc!r}"
    return False, f"{type(exc).__name__}: {exc}"


def backoff_seconds(attempt: int) -> int:
    return min(retry_base_seconds() * 2 ** max(attempt - 1, 0), retry_cap_seconds())


# --- send-time checks ----------------------------------------------------------------------------
def reminder_still_relevant(reminder: Reminder) -> str | None:
    """Why a planned reminder no longer applies (a 車検 was recorded, a second purchase…), else None."""
    tenant = reminder.tenant
    kind = reminder.rule.kind
    if kind == RuleKind.INSPECTION and reminder.vehicle_id:
        step = (
            ReminderStep.objects.for_tenant(tenant)
            .filter(rule_id=reminder.rule_id, step=reminder.step)
            .first()
        )
        if step is not None and step.offset_days > 0:
            done = ServiceRecord.objects.for_tenant(tenant).filter(
                vehicle_id=reminder.vehicle_id,
                kind=ServiceKind.SHAKEN,
                date__gte=reminder.occasion_date - timedelta(days=SHAKEN_DONE_WINDOW_DAYS),
            )
            if done.exists():
                return "車検 already recorded"
    if kind == RuleKind.NURTURE:
        bought = Purchase.objects.for_tenant(tenant).filter(customer_id=reminder.customer_id, is_refund=False)
        if bought.count() > 1:
            return "customer bought again: nurture stopped"
    return None


# --- the state machine -----------------------------------------------------------------------------
def _move(tenant_id: int, pk: int, *, expected: str, **values: Any) -> bool:
    values.setdefault("updated_at", timezone.now())
    return bool(Reminder.objects.for_tenant(tenant_id).filter(pk=pk, status=expected).update(**values))


def _relaxed_commit() -> None:
    """Skip the WAL flush wait for this transaction (PostgreSQL): saves an fsync per state move.

    Only a database crash within a fraction of a second can undo such a commit; the row then goes
    back to "queued"/"sending" and the sweeper resends it: the documented duplicate window (a message
    the server accepted whose "sent" was not durable), never a lost message.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def reminder_send(*, tenant_id: int, reminder_id: int, connection: Any = None) -> str:
    """Send one queued reminder. Returns the final status; raises RetryableSendError to be retried later."""
    now = timezone.now()
    with transaction.atomic():
        _relaxed_commit()
        claimed = _move(
            tenant_id,
            reminder_id,
            expected=ReminderStatus.QUEUED,
            status=ReminderStatus.SENDING,
            sending_started_at=now,
            attempts=F("attempts") + 1,
        )
    if not claimed:
        return "not_claimed"  # already sent, being sent elsewhere, or no longer queued
    reminder = (
        Reminder.objects.for_tenant(tenant_id)
        .select_related("tenant", "customer", "customer__assigned_staff", "vehicle", "rule", "rule__template")
        .get(pk=reminder_id)
    )
    if not reminder.customer.can_receive_marketing_email:
        from reminders.dispatch import reminders_to_call_tasks

        reminders_to_call_tasks([reminder], expected=ReminderStatus.SENDING)
        return ReminderStatus.CALL_TASK
    why_not = reminder_still_relevant(reminder)
    if why_not:
        _move(
            tenant_id,
            reminder_id,
            expected=ReminderStatus.SENDING,
            status=ReminderStatus.SKIPPED,
            reason=why_not,
        )
        return ReminderStatus.SKIPPED
    try:
        validate_email(reminder.customer.email)  # rows can arrive by import; never trust the address
    except ValidationError:
        _move(
            tenant_id,
            reminder_id,
            expected=ReminderStatus.SENDING,
            status=ReminderStatus.FAILED,
            reason="invalid e-mail address",
        )
        return ReminderStatus.FAILED
    try:
        message = build_message(reminder)
    except TemplateRejected as exc:
        _move(
            tenant_id,
            reminder_id,
            expected=ReminderStatus.SENDING,
            status=ReminderStatus.FAILED,
            reason=f"template: {exc}"[:300],
        )
        return ReminderStatus.FAILED
    try:
        _deliver(message, connection)
    except Exception as exc:
        retryable, reason = _classify(exc)
        if retryable and reminder.attempts < max_attempts():
            _move(
                tenant_id,
                reminder_id,
                expected=ReminderStatus.SENDING,
                status=ReminderStatus.QUEUED,
                queued_at=timezone.now(),
                reason=reason[:300],
            )
            raise RetryableSendError(reason, backoff_seconds(reminder.attempts)) from exc
        if retryable:
            reason = f"gave up after {reminder.attempts} attempts: {reason}"
        _move(
            tenant_id,
            reminder_id,
            expected=ReminderStatus.SENDING,
            status=ReminderStatus.FAILED,
            reason=reason[:300],
        )
        return ReminderStatus.FAILED
    # The duplicate window: the SMTP server has the message, and this commit has not happened yet.
    with transaction.atomic():
        _relaxed_commit()
        if _move(
            tenant_id,
            reminder_id,
            expected=ReminderStatus.SENDING,
            status=ReminderStatus.SENT,
            sent_at=timezone.now(),
            reason="",
        ):
            interaction_create(
                tenant=reminder.tenant,
                customer=reminder.customer,
                channel=Channel.EMAIL,
                source=InteractionSource.REMINDER,
                topic=TOPIC_BY_KIND.get(reminder.rule.kind, Topic.OTHER),
                summary=message.subject,
            )
    return ReminderStatus.SENT


def preview_email(*, tenant: Tenant, customer, subject: str, body: str, language: str):
    """Render a template for one customer (their first vehicle) without saving or sending anything."""
    vehicle = customer.vehicles.order_by("inspection_expiry", "pk").first()
    occasion = vehicle.inspection_expiry if vehicle and vehicle.inspection_expiry else timezone.localdate()
    draft = Reminder(
        tenant=tenant, customer=customer, vehicle=vehicle, occasion_date=occasion, due_date=occasion
    )
    return render_email(subject=subject, body=body, context=template_context(draft, language))
