"""The SMTP side of a batch: one connection for all its messages, and what a failure means."""

from __future__ import annotations

import contextlib
import smtplib
from typing import Any

from django.core.mail import EmailMessage, get_connection


class Mailer:
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


def classify_failure(exc: Exception) -> tuple[bool, str]:
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
