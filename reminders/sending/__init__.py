"""Sending reminders: pending work becomes an e-mail exactly once, or a visible failure.

States: queued → sending → sent / failed (or call_task / skipped after the send-time checks). Each move
is a guarded UPDATE (`WHERE status = <expected>`), so two deliveries of the same task never both send.

One module per concern: `batch` (the entry points: claim, check, send, record), `checks` (consent,
relevance and address at send time), `message` (template, rendering, headers, footer), `transport`
(the batch's SMTP connection and what a failure means), `states` (the guarded moves and the batch's
record). Leases, retries and backoff are shared with the dispatcher: `reminders.timing`.
"""

from reminders.sending.batch import RetryableSendError, reminder_send, reminders_send_batch
from reminders.sending.checks import reasons_not_relevant, reminder_still_relevant
from reminders.sending.message import (
    FOOTER,
    build_message,
    message_id,
    pick_template,
    preview_email,
    sender_address,
    shop_sender_email,
    template_context,
    templates_by_language,
    unsubscribe_url,
)
from reminders.sending.states import TOPIC_BY_KIND, BatchResult, reminder_mark_sent
from reminders.timing import (
    backoff_seconds,
    max_attempts,
    queued_lease_seconds,
    retry_base_seconds,
    retry_cap_seconds,
    sending_lease_seconds,
)

__all__ = [
    "FOOTER",
    "TOPIC_BY_KIND",
    "BatchResult",
    "RetryableSendError",
    "backoff_seconds",
    "build_message",
    "max_attempts",
    "message_id",
    "pick_template",
    "preview_email",
    "queued_lease_seconds",
    "reasons_not_relevant",
    "reminder_mark_sent",
    "reminder_send",
    "reminder_still_relevant",
    "reminders_send_batch",
    "retry_base_seconds",
    "retry_cap_seconds",
    "sender_address",
    "sending_lease_seconds",
    "shop_sender_email",
    "template_context",
    "templates_by_language",
    "unsubscribe_url",
]
