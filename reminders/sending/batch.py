"""Sending a batch of one tenant's queued reminders: the entry points the send tasks and the dispatch
command call. Pending work becomes an e-mail exactly once, or a visible failure."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from django.db.models import F
from django.utils import timezone

from channels.models import MessageChannel
from reminders.models import Reminder, ReminderStatus
from reminders.sending.channels import send_channel_rows
from reminders.sending.checks import reasons_not_relevant, send_time_checks
from reminders.sending.message import build_message, pick_template, templates_by_language
from reminders.sending.states import (
    BatchResult,
    hand_back,
    move_many,
    relaxed_commits,
    reminder_mark_sent,
    tenant_tx,
)
from reminders.sending.transport import Mailer, classify_failure
from reminders.templating import TemplateRejected
from reminders.timing import backoff_seconds, max_attempts, sending_lease_seconds


class RetryableSendError(Exception):
    def __init__(self, reason: str, countdown: int):
        super().__init__(reason)
        self.countdown = countdown


def _load(tenant_id: int, pks: list[int]) -> list[Reminder]:
    return list(
        Reminder.objects.for_tenant(tenant_id)
        .select_related("tenant", "customer", "customer__assigned_staff", "vehicle", "rule", "rule__template")
        .filter(pk__in=pks)
        .order_by("pk")
    )


def reminders_send_batch(*, tenant_id: int, reminder_ids: list[int], connection: Any = None) -> BatchResult:
    """Send a batch of one tenant's queued reminders: e-mail over one connection, LINE and SMS rows
    through reminders.sending.channels (same claim, checks and marks; postcard rows are never claimed).

    1. Claim: queued → sending for the ids still queued (one guarded UPDATE; a second delivery of the
       task claims nothing). 2. Re-check consent/opt-out, relevance and the address, set-based.
    3. Send each message; after each accepted message, commit `sent` and the timeline interaction
       together, so at most the one message in flight can be in the duplicate window.
    Connection errors and 4xx go back to `queued` and are returned in `retries` (countdown → ids);
    5xx, invalid address and template errors become `failed` with the reason.
    """
    result = BatchResult()
    ids = sorted(set(reminder_ids))
    with relaxed_commits():
        with tenant_tx(tenant_id):
            claimed_at = timezone.now()
            claimable = list(
                Reminder.objects.for_tenant(tenant_id)
                .select_for_update(skip_locked=True)
                .filter(pk__in=ids, status=ReminderStatus.QUEUED)
                .exclude(channel=MessageChannel.POSTCARD)  # waits for its print batch, never sent here
                .values_list("pk", flat=True)
            )
            move_many(
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
        with tenant_tx(tenant_id):
            reminders = _load(tenant_id, claimable)
            not_relevant = reasons_not_relevant(tenant_id, reminders)
            templates = templates_by_language(tenant_id, reminders)
        by_channel: dict[str, list[Reminder]] = defaultdict(list)
        for r in reminders:
            by_channel[r.channel or MessageChannel.EMAIL].append(r)  # blank: queued before channels existed
        for channel, rows in by_channel.items():
            if channel in (MessageChannel.LINE, MessageChannel.SMS):
                send_channel_rows(tenant_id, channel, rows, not_relevant, templates, result)
        to_send = send_time_checks(tenant_id, by_channel.get(MessageChannel.EMAIL, []), not_relevant, result)
        mailer = Mailer(connection)
        deadline = time.monotonic() + sending_lease_seconds() / 2
        try:
            for index, reminder in enumerate(to_send):
                if time.monotonic() > deadline:
                    hand_back(tenant_id, [r.pk for r in to_send[index:]], result)
                    break
                result.statuses[reminder.pk] = _send_one(tenant_id, reminder, templates, mailer, result)
        finally:
            mailer.close()
    return result


def _send_one(
    tenant_id: int, reminder: Reminder, templates: dict, mailer: Mailer, result: BatchResult
) -> str:
    def fail(reason: str) -> str:
        with tenant_tx(tenant_id):
            move_many(
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
        retryable, reason = classify_failure(exc)
        if retryable and reminder.attempts < max_attempts():
            with tenant_tx(tenant_id):
                move_many(
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


def reminder_send(*, tenant_id: int, reminder_id: int, connection: Any = None) -> str:
    """Send one queued reminder (a batch of one). Returns its status; raises RetryableSendError to retry."""
    result = reminders_send_batch(tenant_id=tenant_id, reminder_ids=[reminder_id], connection=connection)
    for countdown, pks in result.retries.items():
        if reminder_id in pks:
            row = Reminder.objects.for_tenant(tenant_id).filter(pk=reminder_id).values("reason").first()
            raise RetryableSendError(row["reason"] if row else "retry", countdown)
    return result.statuses[reminder_id]
