"""Sending reminders on LINE and SMS through the same claim/send/sweep machinery as e-mail.

`reminders.sending.batch.reminders_send_batch` claims the batch (queued → sending, guarded) and hands
the rows whose channel is LINE or SMS here. The same guarantees as e-mail:

* Send-time check: the customer must still be receivable on the row's channel (LINE: still following;
  SMS: still opted in) — an unfollow or opt-out between claim and send stops the message and makes a
  call task, as an e-mail opt-out does. Rows no longer relevant are skipped.
* After each accepted message, `sent` and the timeline interaction are committed together; only the
  message in flight can be in the duplicate window, and its resend carries the same idempotency key
  (`X-Line-Retry-Key` / `Idempotency-Key` = uuid5 of tenant + reminder), so LINE and the SMS provider
  answer it without showing it again.
* Retryable (429, 5xx, connection): back to `queued`, re-enqueued after max(backoff, Retry-After), at
  most REMINDER_MAX_ATTEMPTS, then `failed`. Refused recipient (LINE 400/403: blocked, invalid user):
  `failed` with the reason and the LINE contact set to not following (LINE consent withdrawn).
  Other permanent errors (bad token, bad message): `failed` with the reason.
"""

from __future__ import annotations

import time
from collections import defaultdict

from django.urls import reverse
from django.utils import timezone

from channels.delivery import (
    DeliveryError,
    PermanentDeliveryError,
    RecipientRefused,
    RetryableDeliveryError,
    idempotency_key,
)
from channels.line import build_messages, line_backend
from channels.links import register_short_link, short_url
from channels.models import MessageChannel
from channels.selectors import channels_for_customers, line_contact_for_customers, mobile_e164
from channels.services import line_contacts_mark_refused
from channels.sms import fit_sms, sms_provider
from interactions.models import Channel
from reminders.dispatch import reminders_to_call_tasks
from reminders.models import Reminder, ReminderStatus
from reminders.sending.message import pick_template, template_context
from reminders.sending.states import BatchResult, hand_back, move_many, reminder_mark_sent, tenant_tx
from reminders.services import unsubscribe_token
from reminders.templating import TemplateRejected, render_email
from reminders.timing import backoff_seconds, max_attempts, retry_cap_seconds, sending_lease_seconds

SENT_CHANNEL = {MessageChannel.LINE: Channel.LINE, MessageChannel.SMS: Channel.SMS}
LINE_FOOTER = {"ja": "\n\n{name}\n{phone}", "en": "\n\n{name}\n{phone}"}
UNSUBSCRIBE_PURPOSE = "u"


def retry_key(reminder: Reminder) -> str:
    """The same UUID for every attempt of one reminder (LINE X-Line-Retry-Key, SMS Idempotency-Key)."""
    return idempotency_key("reminder", reminder.tenant_id, reminder.pk)


def line_text(reminder: Reminder, template) -> tuple[str, str, str]:
    """(text, title, booking url) of a reminder's LINE message, from the same sandboxed template."""
    context = template_context(reminder, template.language)
    rendered = render_email(subject=template.subject, body=template.body, context=context)
    tenant = reminder.tenant
    footer = LINE_FOOTER.get(template.language, LINE_FOOTER["en"]).format(
        name=tenant.name, phone=tenant.phone
    )
    text = f"{rendered.subject}\n\n{rendered.body.strip()}{footer}".strip()
    return text, rendered.subject, context.get("booking_url", "")


def sms_text(reminder: Reminder, template) -> str:
    """≤ 70 characters: 【shop】subject + the short signed link (opt-out page; 特定電子メール法 sender and
    refusal contact are shown there)."""
    context = template_context(reminder, template.language)
    rendered = render_email(subject=template.subject, body="", context=context)
    link = short_url(
        tenant_id=reminder.tenant_id, customer_id=reminder.customer_id, purpose=UNSUBSCRIBE_PURPOSE
    )
    return fit_sms(prefix=f"【{reminder.tenant.name}】", text=rendered.subject, link=link)


def send_channel_rows(
    tenant_id: int,
    channel: str,
    reminders: list[Reminder],
    not_relevant: dict[int, str],
    templates: dict,
    result: BatchResult,
) -> None:
    """Send one batch's claimed (`sending`) rows of one channel (LINE or SMS); see the module docstring."""
    receivable = channels_for_customers(tenant_id=tenant_id, customer_ids={r.customer_id for r in reminders})
    contacts = (
        line_contact_for_customers(tenant_id=tenant_id, customer_ids={r.customer_id for r in reminders})
        if channel == MessageChannel.LINE
        else {}
    )
    gone = [r for r in reminders if channel not in receivable.get(r.customer_id, [])]
    if channel == MessageChannel.LINE:
        gone += [r for r in reminders if r not in gone and r.customer_id not in contacts]
    if gone:
        why = (
            "LINE: no longer following"
            if channel == MessageChannel.LINE
            else "SMS: no consent or mobile number"
        )
        with tenant_tx(tenant_id):
            reminders_to_call_tasks(
                tenant_id,
                gone,
                expected=ReminderStatus.SENDING,
                reasons=dict.fromkeys((r.pk for r in gone), why),
            )
        result.statuses.update(dict.fromkeys((r.pk for r in gone), ReminderStatus.CALL_TASK))
    gone_ids = {r.pk for r in gone}
    rest = [r for r in reminders if r.pk not in gone_ids]
    skipped: dict[str, list[int]] = defaultdict(list)
    for r in rest:
        if r.pk in not_relevant:
            skipped[not_relevant[r.pk]].append(r.pk)
    if skipped:
        with tenant_tx(tenant_id):
            for reason, pks in skipped.items():
                move_many(
                    tenant_id,
                    pks,
                    expected=ReminderStatus.SENDING,
                    status=ReminderStatus.SKIPPED,
                    reason=reason,
                )
                result.statuses.update(dict.fromkeys(pks, ReminderStatus.SKIPPED))
    to_send = [r for r in rest if r.pk not in not_relevant]
    if not to_send:
        return
    transport = line_backend(tenant_id) if channel == MessageChannel.LINE else sms_provider(tenant_id)
    deadline = time.monotonic() + sending_lease_seconds() / 2
    try:
        for index, reminder in enumerate(to_send):
            if time.monotonic() > deadline:
                hand_back(tenant_id, [r.pk for r in to_send[index:]], result)
                break
            result.statuses[reminder.pk] = _send_one(
                tenant_id, channel, reminder, templates, transport, contacts, result
            )
    finally:
        transport.close()


def _send_one(tenant_id, channel, reminder, templates, transport, contacts, result) -> str:
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

    template = pick_template(reminder, templates)
    key = retry_key(reminder)
    try:
        if channel == MessageChannel.LINE:
            text, summary, booking_url = line_text(reminder, template)
            contact = contacts[reminder.customer_id]
            transport.push(
                to=contact.line_user_id,
                messages=build_messages(text=text, booking_url=booking_url, title=reminder.tenant.name),
                retry_key=key,
            )
        else:
            summary = sms_text(reminder, template)
            transport.send(to=mobile_e164(reminder.customer.phone), text=summary, idempotency_key=key)
    except TemplateRejected as exc:
        return fail(f"template: {exc}")
    except RetryableDeliveryError as exc:
        if reminder.attempts < max_attempts():
            with tenant_tx(tenant_id):
                move_many(
                    tenant_id,
                    [reminder.pk],
                    expected=ReminderStatus.SENDING,
                    status=ReminderStatus.QUEUED,
                    queued_at=timezone.now(),
                    reason=exc.reason[:300],
                )
            countdown = backoff_seconds(reminder.attempts)
            if exc.retry_after:
                countdown = min(max(countdown, int(exc.retry_after + 0.999)), retry_cap_seconds())
            result.retries[countdown].append(reminder.pk)
            return "retry"
        return fail(f"gave up after {reminder.attempts} attempts: {exc.reason}")
    except RecipientRefused as exc:
        if channel == MessageChannel.LINE:
            with tenant_tx(tenant_id):
                line_contacts_mark_refused(
                    tenant_id=tenant_id,
                    line_user_ids=[contacts[reminder.customer_id].line_user_id],
                    reason=exc.reason,
                )
        return fail(exc.reason)
    except (PermanentDeliveryError, DeliveryError) as exc:
        return fail(exc.reason)
    # The duplicate window: the provider has the message and this commit has not happened yet; a
    # resend carries the same key, so LINE answers 409 and shows nothing twice.
    reminder_mark_sent(tenant_id, reminder, summary=summary[:300], channel=SENT_CHANNEL[channel])
    return ReminderStatus.SENT


def _unsubscribe_page(tenant_id: int, customer_id: int) -> str:
    return reverse("unsubscribe", args=[unsubscribe_token(tenant_id=tenant_id, customer_id=customer_id)])


def register() -> None:
    """Called by RemindersConfig.ready(): the SMS short link "u" leads to the unsubscribe page."""
    register_short_link(UNSUBSCRIBE_PURPOSE, _unsubscribe_page)
