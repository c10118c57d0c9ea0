"""LINE Messaging API: push messages through a pooled HTTP session, or into the outbox folder.

`LINE_BACKEND` picks the backend: "outbox" (default, embedded: one JSON file per push in
LINE_OUTBOX_DIR, named by the retry key, so a retried push overwrites rather than duplicates) or
"http" (the API at LINE_API_BASE_URL, default https://api.line.me). See docs/channels.md.

Push: `POST /v2/bot/message/push` with `Authorization: Bearer <channel access token>` and
`X-Line-Retry-Key: <UUID>`, the same UUID for every retry of one message: LINE delivers a key at most
once within 24 h and answers a repeat with 409 (= already accepted, counted as sent here).
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import requests
from django.conf import settings
from django.utils import timezone

from channels import ratelimit
from channels.crypto import SecretUnreadable
from channels.delivery import PermanentDeliveryError, RecipientRefused, RetryableDeliveryError
from channels.selectors import LineCredentials, line_credentials

PUSH_PATH = "/v2/bot/message/push"
REPLY_PATH = "/v2/bot/message/reply"
MAX_TEXT = 5000
MAX_ALT_TEXT = 400
MAX_BUTTON_TEXT = 160
MAX_LABEL = 20


# --- messages -------------------------------------------------------------------------------------
def build_messages(
    *, text: str, booking_url: str = "", title: str = "", button_label: str = ""
) -> list[dict[str, Any]]:
    """A text message, plus a buttons template with the booking link when there is one.

    LINE shows the template's `altText` in notifications and on clients that cannot render it.
    """
    messages: list[dict[str, Any]] = [{"type": "text", "text": text[:MAX_TEXT]}]
    if booking_url:
        label = (button_label or "予約する")[:MAX_LABEL]
        messages.append(
            {
                "type": "template",
                "altText": (f"{title}: {booking_url}" if title else booking_url)[:MAX_ALT_TEXT],
                "template": {
                    "type": "buttons",
                    "text": (title or label)[:MAX_BUTTON_TEXT],
                    "actions": [{"type": "uri", "label": label, "uri": booking_url}],
                },
            }
        )
    return messages


# --- backends -------------------------------------------------------------------------------------
class LineBackend:
    """Sends pushes for one shop. `push` returns LINE's request id, or raises a DeliveryError."""

    def __init__(self, tenant_id: int):
        self.tenant_id = tenant_id

    def push(self, *, to: str, messages: list[dict], retry_key: str) -> str:
        raise NotImplementedError

    def close(self) -> None:
        pass


class OutboxLineBackend(LineBackend):
    """Embedded default: what would have been pushed, one JSON file per message (the outbox page)."""

    def push(self, *, to: str, messages: list[dict], retry_key: str) -> str:
        folder = Path(settings.LINE_OUTBOX_DIR)
        folder.mkdir(parents=True, exist_ok=True)
        record = {
            "tenant_id": self.tenant_id,
            "to": to,
            "messages": messages,
            "retry_key": retry_key,
            "at": timezone.now().isoformat(),
        }
        path = folder / f"{self.tenant_id}-{retry_key}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, path)  # atomic: the page never reads half a file; a retry replaces, never adds
        return f"outbox-{retry_key}"


_sessions = threading.local()


def http_session() -> requests.Session:
    """One pooled session per worker process and thread (keep-alive connections to the API)."""
    pid = os.getpid()
    session = getattr(_sessions, "session", None)
    if session is None or getattr(_sessions, "pid", None) != pid:  # a forked child gets its own
        session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=8, max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        _sessions.session, _sessions.pid = session, pid
    return session


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _error_text(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    message = str(body.get("message", ""))
    details = "; ".join(str(d.get("message", "")) for d in body.get("details", []) if isinstance(d, dict))
    return f"{message} ({details})" if details else message


def classify_response(response: requests.Response) -> str:
    """Accepted → LINE's request id; else the matching DeliveryError is raised."""
    status = response.status_code
    if status == 200:
        return response.headers.get("x-line-request-id", "")
    if status == 409:
        # The retry key was already accepted: the customer has the message; this retry shows nothing.
        return response.headers.get("x-line-accepted-request-id", "") or "accepted-before"
    reason = f"LINE {status}: {_error_text(response)}"[:300]
    if status == 429 or status >= 500:
        raise RetryableDeliveryError(reason, retry_after=_retry_after(response))
    if status == 401:
        raise PermanentDeliveryError(reason + " (check the channel access token in the channel settings)")
    if status in (400, 403):
        body = response.text
        if "'to'" in body or '"to"' in body or "friend" in body or status == 403:
            raise RecipientRefused(reason)
        raise PermanentDeliveryError(reason)
    raise PermanentDeliveryError(reason)


class HttpLineBackend(LineBackend):
    """The Messaging API over HTTP, rate limited per shop (channels.ratelimit)."""

    def __init__(self, tenant_id: int):
        super().__init__(tenant_id)
        try:
            self.credentials = line_credentials(tenant_id=tenant_id)
            self.unreadable = ""
        except SecretUnreadable as exc:
            # A changed SECRET_KEY / CHANNELS_ENCRYPTION_KEY: every push fails visibly (never a crashed
            # task leaving rows in "sending" for the sweeper to retry forever).
            self.credentials = LineCredentials("", "", "")
            self.unreadable = f"LINE credentials cannot be decrypted ({exc}): enter them again"
        self.base_url = settings.LINE_API_BASE_URL.rstrip("/")
        self.session = http_session()

    def _post(self, path: str, body: dict, headers: dict | None = None) -> requests.Response:
        if self.unreadable:
            raise PermanentDeliveryError(self.unreadable)
        if not self.credentials.access_token:
            raise PermanentDeliveryError("LINE is not set up for this shop (no channel access token)")
        ratelimit.acquire(f"kizuna:ratelimit:line:{self.tenant_id}", settings.LINE_PUSH_RATE_PER_SECOND)
        try:
            return self.session.post(
                self.base_url + path,
                data=json.dumps(body, ensure_ascii=False).encode(),
                headers={
                    "Authorization": f"Bearer {self.credentials.access_token}",
                    "Content-Type": "application/json",
                    **(headers or {}),
                },
                timeout=settings.LINE_TIMEOUT,
            )
        except requests.RequestException as exc:
            # Refused, reset, timed out: whether LINE got it is unknown, so the same key goes again.
            raise RetryableDeliveryError(f"LINE connection error: {type(exc).__name__}: {exc}"[:300]) from exc

    def push(self, *, to: str, messages: list[dict], retry_key: str) -> str:
        response = self._post(PUSH_PATH, {"to": to, "messages": messages}, {"X-Line-Retry-Key": retry_key})
        return classify_response(response)

    def reply(self, *, reply_token: str, messages: list[dict]) -> str:
        return classify_response(self._post(REPLY_PATH, {"replyToken": reply_token, "messages": messages}))


BACKENDS = {"outbox": OutboxLineBackend, "http": HttpLineBackend}


def line_backend(tenant_id: int) -> LineBackend:
    """The configured backend for one shop (LINE_BACKEND: "outbox" or "http")."""
    return BACKENDS[settings.LINE_BACKEND](tenant_id)
