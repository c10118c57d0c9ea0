"""Sending one reminder: pending work becomes an e-mail exactly once, or a visible failure.

States: queued → sending → sent / failed (or call_task / skipped after the send-time checks). Each move
is a guarded UPDATE (`WHERE status = <expected>`), so two deliveries of the same task never both send.
"""

from __future__ import annotations

import contextlib
import os
import smtplib
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import formataddr
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import Count, F
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format

from channels.models import MessageChannel
from crm.models import Tenant
from crm.rls import TENANT_SETTING, set_db_tenant
from customers.models import Purchase, ServiceKind, ServiceRecord
from interactions.models import Channel, Direction, Interaction, InteractionSource, Topic
from reminders.models import Reminder, ReminderStatus, ReminderStep, ReminderTemplate, RuleKind
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


# Senders of the other channels (LINE, SMS), registered by reminders.channel_send in AppConfig.ready():
# channel → function(tenant_id, channel, claimed reminders, not_relevant, templates, result).
CHANNEL_SENDERS: dict[str, Callable[..., None]] = {}


def register_channel_sender(channel: str, sender: Callable[..., None]) -> None:
    CHANNEL_SENDERS[channel] = sender


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


def shop_sender_email(tenant: Tenant) -> str:
    """The shop's sender address, or "" when unset or not a valid address.

    The settings form validates it, but a row written another way (admin, SQL, import) with CR/LF or
    other junk must never reach a header: such a shop sends from DEFAULT_FROM_EMAIL instead.
    """
    try:
        validate_email(tenant.sender_email)
        local, domain = tenant.sender_email.rsplit("@", 1)
        address = f"{local}@{domain.encode('idna').decode('ascii')}"  # a Japanese domain as punycode
    except (ValidationError, UnicodeError):
        return ""
    return address if address.isascii() else ""


def sender_address(tenant: Tenant) -> str:
    email = shop_sender_email(tenant)
    if not email:
        return settings.DEFAULT_FROM_EMAIL
    return formataddr((_one_line(tenant.sender_name or tenant.name), email))


def message_id(reminder: Reminder) -> str:
    """Deterministic: a resend of one reminder carries the same Message-ID, so it can be de-duplicated."""
    domain = "kizuna.localhost"
    email = shop_sender_email(reminder.tenant)
    if email:
        domain = email.rsplit("@", 1)[1]
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
    "ja": "\n\n――――――――――\n送信者：{name}\n住所：{address}\n電話：{phone}\nメール：{email}\n"
    "今後このようなメールの配信を希望されない場合は、こちらから配信停止できます：\n{url}\n",
    "en": "\n\n----------\nSent by: {name}\nAddress: {address}\nPhone: {phone}\nE-mail: {email}\n"
    "To stop receiving these e-mails, unsubscribe here:\n{url}\n",
}


def pick_template(reminder: Reminder, templates: dict[tuple[str, str], ReminderTemplate]) -> ReminderTemplate:
    """The rule's template in the customer's language; else the rule's own template (the shop's default).

    Templates in several languages share a name (see `reminder_defaults_create`), so the customer's
    language finds its sibling of the rule's template.
    """
    rule_template = reminder.rule.template
    wanted = getattr(reminder.customer, "language", "") or rule_template.language
    return templates.get((rule_template.name, wanted), rule_template)


def build_message(
    reminder: Reminder, connection: Any = None, *, template: ReminderTemplate | None = None
) -> EmailMessage:
    """The e-mail of one reminder, with sender identification and opt-out (特定電子メール法)."""
    template = template or reminder.rule.template
    language = template.language
    rendered = render_email(
        subject=template.subject, body=template.body, context=template_context(reminder, language)
    )
    tenant = reminder.tenant
    url = unsubscribe_url(tenant_id=reminder.tenant_id, customer_id=reminder.customer_id)
    footer = FOOTER.get(language, FOOTER["en"]).format(
        name=tenant.sender_name or tenant.name,
        address=tenant.address,
        phone=tenant.phone,
        email=shop_sender_email(tenant) or settings.DEFAULT_FROM_EMAIL,  # 特定電子メール法: a contact address
        url=url,
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


# --- one SMTP connection per batch -----------------------------------------------------------------
class _Mailer:
    """The batch's e-mail connection: opened once, reused for every message, reopened after a drop.

    A caller-provided connection (the dispatch command, tests) is used as is and never closed here.
    Once opening fails (server down), every further message of the batch fails with the same error
    at once: no waiting for a connect timeout per message.
    """

    def __init__(self, connection: Any = None):
        self.owned = connection is None
        self.conn = connection
        self.broken = False
        self.down: Exception | None = None

    def _open(self) -> None:
        self.close()
        self.conn = get_connection(fail_silently=False)
        try:
            self.conn.open()
        except Exception as exc:
            self.down = exc
            raise
        self.broken = False

    def send(self, message: EmailMessage) -> None:
        if self.down is not None:
            raise self.down
        if self.owned and (self.conn is None or self.broken):
            self._open()
        message.connection = self.conn
        try:
            message.send()
        except smtplib.SMTPServerDisconnected:
            if not self.owned:
                raise
            # The server closed the connection (idle limit, messages-per-connection limit): reconnect
            # once and resend. If it had in fact accepted the message, this is the duplicate window.
            self._open()
            message.connection = self.conn
            self._send_or_break(message)
        except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused):
            raise  # an answer about this message: the session itself is fine
        except Exception:
            self.broken = True
            raise

    def _send_or_break(self, message: EmailMessage) -> None:
        try:
            message.send()
        except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused):
            raise
        except Exception:
            self.broken = True
            raise

    def close(self) -> None:
        if self.owned and self.conn is not None:
            with contextlib.suppress(Exception):  # a broken connection may fail to close; dropped anyway
                self.conn.close()
            self.conn = None


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
def reasons_not_relevant(tenant_id: int, reminders: list[Reminder]) -> dict[int, str]:
    """Why planned reminders no longer apply (a 車検 was recorded, a second purchase…), by reminder id.

    Set-based: at most three queries for a whole batch, whatever its size.
    """
    reasons: dict[int, str] = {}
    inspections = [r for r in reminders if r.rule.kind == RuleKind.INSPECTION and r.vehicle_id]
    if inspections:
        offsets = dict(
            ((rule_id, step), offset)
            for rule_id, step, offset in ReminderStep.objects.for_tenant(tenant_id)
            .filter(rule_id__in={r.rule_id for r in inspections})
            .values_list("rule_id", "step", "offset_days")
        )
        after_expiry = [r for r in inspections if offsets.get((r.rule_id, r.step), 0) > 0]
        if after_expiry:
            shaken: dict[int, list] = defaultdict(list)
            for vehicle_id, day in (
                ServiceRecord.objects.for_tenant(tenant_id)
                .filter(vehicle_id__in={r.vehicle_id for r in after_expiry}, kind=ServiceKind.SHAKEN)
                .values_list("vehicle_id", "date")
            ):
                shaken[vehicle_id].append(day)
            for r in after_expiry:
                since = r.occasion_date - timedelta(days=SHAKEN_DONE_WINDOW_DAYS)
                if any(day >= since for day in shaken[r.vehicle_id]):
                    reasons[r.pk] = "車検 already recorded"
    nurture = [r for r in reminders if r.rule.kind == RuleKind.NURTURE]
    if nurture:
        bought_again = set(
            Purchase.objects.for_tenant(tenant_id)
            .filter(customer_id__in={r.customer_id for r in nurture}, is_refund=False)
            .values("customer_id")
            .annotate(n=Count("id"))
            .filter(n__gt=1)
            .values_list("customer_id", flat=True)
        )
        for r in nurture:
            if r.customer_id in bought_again:
                reasons[r.pk] = "customer bought again: nurture stopped"
    return reasons


def reminder_still_relevant(reminder: Reminder) -> str | None:
    """Why one planned reminder no longer applies, else None."""
    return reasons_not_relevant(reminder.tenant_id, [reminder]).get(reminder.pk)


# --- the state machine -----------------------------------------------------------------------------
@contextlib.contextmanager
def _tenant_tx(tenant_id: int):
    """A transaction that sees only this tenant's rows (row-level security); one statement cheaper than
    `tenant_context`, which also restores a previous tenant (there is none at the top of a send task)."""
    with transaction.atomic():
        set_db_tenant(tenant_id)
        yield


def _move_many(tenant_id: int, pks: list[int], *, expected: str, **values: Any) -> int:
    """Guarded move: only rows still in `expected` change, so a second delivery of a task is harmless."""
    if not pks:
        return 0
    values.setdefault("updated_at", timezone.now())
    return Reminder.objects.for_tenant(tenant_id).filter(pk__in=pks, status=expected).update(**values)


@contextlib.contextmanager
def _relaxed_commits():
    """Skip the WAL flush wait for the batch's commits (PostgreSQL): saves an fsync per state move.

    Only a database crash within a fraction of a second can undo such a commit; the row then goes
    back to "queued"/"sending" and the sweeper resends it: the documented duplicate window (a message
    the server accepted whose "sent" was not durable), never a lost message. Session-level for the
    batch, reset at its end so other tasks on this worker commit normally.
    """
    pg = connection.vendor == "postgresql"
    if pg:
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        if pg:
            # A dead connection is discarded anyway.
            with contextlib.suppress(Exception), connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")


@dataclass
class BatchResult:
    """What happened to each id of a batch, and which ids must be sent again after which countdown."""

    statuses: dict[int, str] = field(default_factory=dict)
    retries: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))

    def counts(self) -> dict[str, int]:
        return dict(Counter(self.statuses.values()))


def _load(tenant_id: int, pks: list[int]) -> list[Reminder]:
    return list(
        Reminder.objects.for_tenant(tenant_id)
        .select_related("tenant", "customer", "customer__assigned_staff", "vehicle", "rule", "rule__template")
        .filter(pk__in=pks)
        .order_by("pk")
    )


def templates_by_language(tenant_id: int, reminders: list[Reminder]) -> dict[tuple[str, str], Any]:
    """The tenant's templates that share a name with the batch's rule templates, by (name, language)."""
    names = {r.rule.template.name for r in reminders}
    return {
        (t.name, t.language): t for t in ReminderTemplate.objects.for_tenant(tenant_id).filter(name__in=names)
    }


def reminders_send_batch(*, tenant_id: int, reminder_ids: list[int], connection: Any = None) -> BatchResult:
    """Send a batch of one tenant's queued reminders over one e-mail connection.

    1. Claim: queued → sending for the ids still queued (one guarded UPDATE; a second delivery of the
       task claims nothing). 2. Re-check consent/opt-out, relevance and the address, set-based.
    3. Send each message; after each accepted message, commit `sent` and the timeline interaction
       together, so at most the one message in flight can be in the duplicate window.
    Connection errors and 4xx go back to `queued` and are returned in `retries` (countdown → ids);
    5xx, invalid address and template errors become `failed` with the reason.
    """
    result = BatchResult()
    ids = sorted(set(reminder_ids))
    with _relaxed_commits():
        with _tenant_tx(tenant_id):
            claimed_at = timezone.now()
            claimable = list(
                Reminder.objects.for_tenant(tenant_id)
                .select_for_update(skip_locked=True)
                .filter(pk__in=ids, status=ReminderStatus.QUEUED)
                .exclude(channel=MessageChannel.POSTCARD)  # waits for its print batch, never sent here
                .values_list("pk", flat=True)
            )
            _move_many(
                tenant_id,
                claimable,
                expected=ReminderStatus.QUEUED,
                status=ReminderStatus.SENDING,
                sending_started_at=claimed_at,
                attempts=F("attempts") + 1,
                updated_at=claimed_at,
            )
        for pk in set(ids) - set(claimable):
            result.statuses[pk] = "not_claimed"  # already sent, being sent elsewhere, or no longer queued
        if not claimable:
            return result
        with _tenant_tx(tenant_id):
            reminders = _load(tenant_id, claimable)
            not_relevant = reasons_not_relevant(tenant_id, reminders)
            templates = templates_by_language(tenant_id, reminders)
        by_channel: dict[str, list[Reminder]] = defaultdict(list)
        for r in reminders:
            by_channel[r.channel or MessageChannel.EMAIL].append(r)  # blank: queued before channels existed
        for channel, rows in by_channel.items():
            if channel != MessageChannel.EMAIL:
                CHANNEL_SENDERS[channel](tenant_id, channel, rows, not_relevant, templates, result)
        to_send = _send_time_checks(tenant_id, by_channel.get(MessageChannel.EMAIL, []), not_relevant, result)
        mailer = _Mailer(connection)
        deadline = time.monotonic() + sending_lease_seconds() / 2
        try:
            for index, reminder in enumerate(to_send):
                if time.monotonic() > deadline:
                    # Slow server: hand the rest back before the sweeper's lease could requeue rows this
                    # task still holds (that would let a second worker send them too).
                    rest = [r.pk for r in to_send[index:]]
                    with _tenant_tx(tenant_id):
                        _move_many(
                            tenant_id,
                            rest,
                            expected=ReminderStatus.SENDING,
                            status=ReminderStatus.QUEUED,
                            queued_at=timezone.now(),
                            attempts=F("attempts") - 1,
                        )
                    result.retries[0].extend(rest)
                    result.statuses.update(dict.fromkeys(rest, "requeued"))
                    break
                result.statuses[reminder.pk] = _send_one(tenant_id, reminder, templates, mailer, result)
        finally:
            mailer.close()
    return result


def _send_time_checks(
    tenant_id: int, reminders: list[Reminder], not_relevant: dict[int, str], result: BatchResult
) -> list[Reminder]:
    """Consent, relevance and address checks at send time; returns the reminders that may be e-mailed."""
    from reminders.dispatch import reminders_to_call_tasks

    no_consent = [r for r in reminders if not r.customer.can_receive_marketing_email]
    if no_consent:
        with _tenant_tx(tenant_id):
            reminders_to_call_tasks(tenant_id, no_consent, expected=ReminderStatus.SENDING)
        result.statuses.update(dict.fromkeys((r.pk for r in no_consent), ReminderStatus.CALL_TASK))
    rest = [r for r in reminders if r.customer.can_receive_marketing_email]
    skipped: dict[str, list[int]] = defaultdict(list)
    invalid = []
    to_send = []
    for r in rest:
        if r.pk in not_relevant:
            skipped[not_relevant[r.pk]].append(r.pk)
            continue
        try:
            validate_email(r.customer.email)  # rows can arrive by import; never trust the address
        except ValidationError:
            invalid.append(r.pk)
            continue
        to_send.append(r)
    if skipped or invalid:
        with _tenant_tx(tenant_id):
            for reason, pks in skipped.items():
                _move_many(
                    tenant_id,
                    pks,
                    expected=ReminderStatus.SENDING,
                    status=ReminderStatus.SKIPPED,
                    reason=reason,
                )
                result.statuses.update(dict.fromkeys(pks, ReminderStatus.SKIPPED))
            _move_many(
                tenant_id,
                invalid,
                expected=ReminderStatus.SENDING,
                status=ReminderStatus.FAILED,
                reason="invalid e-mail address",
            )
            result.statuses.update(dict.fromkeys(invalid, ReminderStatus.FAILED))
    return to_send


def _send_one(
    tenant_id: int, reminder: Reminder, templates: dict, mailer: _Mailer, result: BatchResult
) -> str:
    def fail(reason: str) -> str:
        with _tenant_tx(tenant_id):
            _move_many(
                tenant_id,
                [reminder.pk],
                expected=ReminderStatus.SENDING,
                status=ReminderStatus.FAILED,
                reason=reason[:300],
            )
        return ReminderStatus.FAILED

    try:
        message = build_message(reminder, template=pick_template(reminder, templates))
    except TemplateRejected as exc:
        return fail(f"template: {exc}")
    try:
        mailer.send(message)
    except Exception as exc:
        retryable, reason = _classify(exc)
        if retryable and reminder.attempts < max_attempts():
            with _tenant_tx(tenant_id):
                _move_many(
                    tenant_id,
                    [reminder.pk],
                    expected=ReminderStatus.SENDING,
                    status=ReminderStatus.QUEUED,
                    queued_at=timezone.now(),
                    reason=reason[:300],
                )
            result.retries[backoff_seconds(reminder.attempts)].append(reminder.pk)
            return "retry"
        if retryable:
            reason = f"gave up after {reminder.attempts} attempts: {reason}"
        return fail(reason)
    # The duplicate window: the SMTP server has the message, and this commit has not happened yet.
    reminder_mark_sent(tenant_id, reminder, summary=message.subject)
    return ReminderStatus.SENT


_SENT_SQL = (
    "SELECT set_config(%(setting)s, %(tenant)s, true); "
    "WITH sent AS (UPDATE {reminder} SET status = %(sent)s, sent_at = %(now)s, reason = '', "
    "updated_at = %(now)s WHERE id = %(id)s AND tenant_id = %(tenant_int)s AND status = %(sending)s "
    "RETURNING tenant_id, customer_id) "
    "INSERT INTO {interaction} (tenant_id, customer_id, staff_id, channel, direction, occurred_at, topic, "
    "summary, satisfaction, follow_up_needed, source, created_at, updated_at) "
    "SELECT tenant_id, customer_id, NULL, %(channel)s, %(direction)s, %(now)s, %(topic)s, %(summary)s, NULL, "
    "false, %(source)s, %(now)s, %(now)s FROM sent"
)


def reminder_mark_sent(
    tenant_id: int, reminder: Reminder, *, summary: str, channel: str = Channel.EMAIL
) -> None:
    """sending → sent, and the e-mail on the customer's timeline (an Interaction), committed together.

    On PostgreSQL in autocommit this is ONE round trip: the statements of one simple query run as one
    implicit transaction, so the tenant setting (row-level security), the guarded UPDATE and the
    INSERT commit together. Per message that is three round trips fewer than tenant transaction +
    UPDATE + INSERT + COMMIT, which is most of the database time of a send. The values are built
    from the rows this task just loaded and fixed choices, so `interaction_create`'s per-row
    `full_clean` (two lookups) is not needed here.
    """
    now = timezone.now()
    topic = TOPIC_BY_KIND.get(reminder.rule.kind, Topic.OTHER)
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        sql = _SENT_SQL.format(reminder=Reminder._meta.db_table, interaction=Interaction._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                sql,
                {
                    "setting": TENANT_SETTING,
                    "tenant": str(int(tenant_id)),
                    "tenant_int": tenant_id,
                    "id": reminder.pk,
                    "sent": ReminderStatus.SENT,
                    "sending": ReminderStatus.SENDING,
                    "now": now,
                    "channel": channel,
                    "direction": Direction.OUTBOUND,
                    "topic": topic,
                    "summary": summary,
                    "source": InteractionSource.REMINDER,
                },
            )
        return
    with _tenant_tx(tenant_id):
        if _move_many(
            tenant_id,
            [reminder.pk],
            expected=ReminderStatus.SENDING,
            status=ReminderStatus.SENT,
            sent_at=now,
            reason="",
            updated_at=now,
        ):
            Interaction.objects.create(
                tenant_id=reminder.tenant_id,
                customer_id=reminder.customer_id,
                channel=channel,
                direction=Direction.OUTBOUND,
                source=InteractionSource.REMINDER,
                topic=topic,
                summary=summary,
                occurred_at=now,
            )


def reminder_send(*, tenant_id: int, reminder_id: int, connection: Any = None) -> str:
    """Send one queued reminder (a batch of one). Returns its status; raises RetryableSendError to retry."""
    result = reminders_send_batch(tenant_id=tenant_id, reminder_ids=[reminder_id], connection=connection)
    for countdown, pks in result.retries.items():
        if reminder_id in pks:
            row = Reminder.objects.for_tenant(tenant_id).filter(pk=reminder_id).values("reason").first()
            raise RetryableSendError(row["reason"] if row else "retry", countdown)
    return result.statuses[reminder_id]


def preview_email(*, tenant: Tenant, customer, subject: str, body: str, language: str):
    """Render a template for one customer (their first vehicle) without saving or sending anything."""
    vehicle = customer.vehicles.order_by("inspection_expiry", "pk").first()
    occasion = vehicle.inspection_expiry if vehicle and vehicle.inspection_expiry else timezone.localdate()
    draft = Reminder(
        tenant=tenant, customer=customer, vehicle=vehicle, occasion_date=occasion, due_date=occasion
    )
    return render_email(subject=subject, body=body, context=template_context(draft, language))
