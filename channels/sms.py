"""SMS behind a small provider interface: an HTTP adapter for a generic REST provider, and the outbox.

`SMS_BACKEND` picks it: "outbox" (default, embedded: one JSON file per message in SMS_OUTBOX_DIR,
named by the idempotency key) or "http" (the provider at SMS_API_BASE_URL with the shop's API key).

The HTTP provider API (documented in docs/channels.md; most Japanese SMS gateways offer this shape):
`POST {base}/v1/messages`, `Authorization: Bearer <api key>`, `Idempotency-Key: <key>`, JSON
`{"to": "+8190…", "from": "<sender id>", "text": "…"}` → 201/200 `{"id": "…"}` (a repeated key
answers 200 with the first message's id and sends nothing); 400/422 bad number or text (permanent,
`"code": "invalid_number"` means the recipient cannot get SMS), 401/403 bad key (permanent), 429
and 5xx (retry, `Retry-After` honoured).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import requests
from django.conf import settings
from django.utils import timezone

from channels import ratelimit
from channels.crypto import SecretUnreadable
from channels.delivery import PermanentDeliveryError, RecipientRefused, RetryableDeliveryError
from channels.line import http_session
from channels.selectors import channel_settings_get, sms_api_key

# One SMS segment of Japanese text (UCS-2) is 70 characters; longer texts cost two or more.
SMS_MAX_CHARS = 70
MESSAGES_PATH = "/v1/messages"


class SmsProvider:
    """send(to, text, idempotency_key) → the provider's message id, or raises a DeliveryError."""

    def __init__(self, tenant_id: int):
        self.tenant_id = tenant_id

    def send(self, *, to: str, text: str, idempotency_key: str) -> str:
        raise NotImplementedError

    def close(self) -> None:
        pass


class OutboxSmsProvider(SmsProvider):
    def send(self, *, to: str, text: str, idempotency_key: str) -> str:
        folder = Path(settings.SMS_OUTBOX_DIR)
        folder.mkdir(parents=True, exist_ok=True)
        record = {"tenant_id": self.tenant_id, "to": to, "text": text, "key": idempotency_key}
        record["at"] = timezone.now().isoformat()
        path = folder / f"{self.tenant_id}-{idempotency_key}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, path)
        return f"outbox-{idempotency_key}"


class HttpSmsProvider(SmsProvider):
    def __init__(self, tenant_id: int):
        super().__init__(tenant_id)
        self.base_url = (settings.SMS_API_BASE_URL or "").rstrip("/")
        try:
            self.api_key, self.unreadable = sms_api_key(tenant_id=tenant_id), ""
        except SecretUnreadable as exc:
            self.api_key, self.unreadable = "", f"SMS API key cannot be decrypted ({exc}): enter it again"
        self.sender_id = channel_settings_get(tenant_id=tenant_id).sms_sender_id
        self.session = http_session()

    def send(self, *, to: str, text: str, idempotency_key: str) -> str:
        if self.unreadable:
            raise PermanentDeliveryError(self.unreadable)
        if not self.base_url or not self.api_key:
            raise PermanentDeliveryError("SMS is not set up for this shop (no provider URL or API key)")
        ratelimit.acquire(
            f"kizuna:ratelimit:sms:{self.tenant_id}", getattr(settings, "SMS_RATE_PER_SECOND", 10)
        )
        try:
            response = self.session.post(
                self.base_url + MESSAGES_PATH,
                json={"to": to, "from": self.sender_id, "text": text},
                headers={"Authorization": f"Bearer {self.api_key}", "Idempotency-Key": idempotency_key},
                timeout=settings.SMS_TIMEOUT,
            )
        except requests.RequestException as exc:
            raise RetryableDeliveryError(f"SMS connection error: {type(exc).__name__}: {exc}"[:300]) from exc
        return _classify(response)


def _classify(response: requests.Response) -> str:
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = {}
    if status in (200, 201):
        return str(body.get("id", ""))
    reason = f"SMS {status}: {body.get('message') or response.text[:200]}"[:300]
    if status == 429 or status >= 500:
        retry_after = response.headers.get("Retry-After")
        raise RetryableDeliveryError(reason, retry_after=float(retry_after) if retry_after else None)
    if status in (400, 422) and body.get("code") in ("invalid_number", "unreachable", "opted_out"):
        raise RecipientRefused(reason)
    raise PermanentDeliveryError(reason)


BACKENDS = {"outbox": OutboxSmsProvider, "http": HttpSmsProvider}


def sms_provider(tenant_id: int) -> SmsProvider:
    return BACKENDS[settings.SMS_BACKEND](tenant_id)


def fit_sms(*, prefix: str, text: str, link: str, limit: int = SMS_MAX_CHARS) -> str:
    """ "【shop】text link" in at most `limit` characters: the text is shortened, never the link."""
    room = limit - len(prefix) - len(link) - 1
    body = " ".join(text.split())
    if len(body) > room:
        body = body[: max(room - 1, 0)] + "…"
    return f"{prefix}{body} {link}".strip()
