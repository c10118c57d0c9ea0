"""Keep personal data out of log lines (APPI): a logging filter installed on every handler.

Log records are built from a message, its arguments and an exception; any of them can carry a
customer's e-mail address (an SMTP refusal names the recipient), phone number or name (a model's
str()). The filter rewrites the record before any handler formats it:
- model instances among the arguments become "<Customer 12>" (their str() is often a person's name);
- e-mail addresses and phone numbers in the final text, the exception and the stack are masked.
Celery replaces the root logger's handlers in a worker; crm/celery.py adds the filter to its handlers.
"""

from __future__ import annotations

import logging
import re
import traceback

from django.db.models import Model

# Also URL-encoded ("%40"): request lines and paths carry search terms such as ?q=yamada%40example.jp.
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+(?:@|%40)[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+", re.IGNORECASE)
# Japanese numbers (03-1234-5678, 090-1234-5678, 0120-123-456, +81 90 1234 5678, 09012345678) and
# other international forms: a leading 0 or +country code, then 9-13 digits split by spaces, dots,
# hyphens or full-width hyphens. Dates (2026-11-23), amounts and ids have no leading 0 or "+", or too
# few digits.
PHONE_RE = re.compile(
    r"(?<![\w.+\-])(?:\+\d{1,3}[ \-.]?\(?0?\d{1,4}\)?|0\d{1,4}|\(0\d{1,4}\))"
    r"(?:[ \-.‐－ー]?\d{1,4}){2,3}(?![\w\-])"
)
EMAIL_MASK = "[email]"
PHONE_MASK = "[phone]"


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def redact(text: str) -> str:
    """Mask e-mail addresses and phone numbers in one string."""
    if not text:
        return text
    text = EMAIL_RE.sub(EMAIL_MASK, text)
    return PHONE_RE.sub(lambda m: PHONE_MASK if 9 <= _digits(m.group()) <= 15 else m.group(), text)


def _safe_arg(value):
    if isinstance(value, Model):
        return f"<{type(value).__name__} {value.pk}>"
    return value


class RedactPersonalData(logging.Filter):
    """Rewrite each record's text with personal data masked (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_pii_redacted", False):
            return True  # several handlers share the record: redact once
        try:
            if isinstance(record.args, dict):
                record.args = {key: _safe_arg(value) for key, value in record.args.items()}
            elif record.args:
                record.args = tuple(_safe_arg(value) for value in record.args)
            message = record.getMessage()
        except Exception:  # a broken format string must not hide the record
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
            # The formatter uses exc_text as it is; exc_info stays for handlers that need the type.
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        record._pii_redacted = True
        return True


def install_on(logger: logging.Logger) -> None:
    """Add the filter to every handler of `logger` (idempotent)."""
    for handler in logger.handlers:
        if not any(isinstance(f, RedactPersonalData) for f in handler.filters):
            handler.addFilter(RedactPersonalData())
