"""LINE inbound fixtures: shops with LINE set up, and a helper that posts a really signed webhook."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from django.test import Client
from django.urls import reverse

from channels.crypto import encrypt_secret
from channels.line_linking import webhook_key_for
from channels.line_signature import line_signature
from channels.models import ChannelSettings
from tests.fakes.line_api import FakeLineAPI, line_user_id

SECRET_A = "a" * 16 + "secret-of-shop-a"
SECRET_B = "b" * 16 + "secret-of-shop-b"
TOKEN_A = "token-of-shop-a"
TOKEN_B = "token-of-shop-b"


def _line_settings(tenant, secret, token, basic_id):
    return ChannelSettings.objects.create(
        tenant=tenant,
        line_channel_id="1650000000",
        line_channel_secret_encrypted=encrypt_secret(secret),
        line_access_token_encrypted=encrypt_secret(token),
        line_basic_id=basic_id,
    )


@pytest.fixture
def line_shop(tenant):
    return _line_settings(tenant, SECRET_A, TOKEN_A, "@shopa")


@pytest.fixture
def other_line_shop(other_tenant):
    return _line_settings(other_tenant, SECRET_B, TOKEN_B, "@shopb")


def webhook_url(tenant) -> str:
    return reverse("line:webhook", args=[webhook_key_for(tenant.pk)])


def event(kind: str, user: str, *, event_id: str | None = None, at_ms: int | None = None, **extra) -> dict:
    """One webhook event object as LINE sends it."""
    data = {
        "type": kind,
        "mode": "active",
        "timestamp": at_ms if at_ms is not None else int(time.time() * 1000),
        "source": {"type": "user", "userId": user},
        "webhookEventId": event_id or uuid.uuid4().hex.upper()[:26],
        "deliveryContext": {"isRedelivery": False},
    }
    if kind in ("follow", "message"):
        data["replyToken"] = uuid.uuid4().hex
    data.update(extra)
    return data


def text_event(user: str, text: str, **kw) -> dict:
    return event("message", user, message={"id": uuid.uuid4().hex[:18], "type": "text", "text": text}, **kw)


def body_of(*events: dict) -> bytes:
    return json.dumps({"destination": "U" + "0" * 32, "events": list(events)}, ensure_ascii=False).encode()


def post_webhook(tenant, body: bytes, *, secret: str | None, client: Client | None = None):
    """POST `body` to the shop's webhook URL, signed with `secret` (None: no signature header)."""
    headers = (
        {} if secret is None else {"HTTP_X_LINE_SIGNATURE": line_signature(channel_secret=secret, body=body)}
    )
    return (client or Client()).post(
        webhook_url(tenant), data=body, content_type="application/json", **headers
    )


@pytest.fixture
def user_id():
    return line_user_id("customer-1")


@pytest.fixture
def line_api(settings):
    """The fake LINE API on 127.0.0.1 with both shops' tokens, and the HTTP backend pointed at it."""
    fake = FakeLineAPI(tokens={TOKEN_A, TOKEN_B}).start()
    settings.LINE_BACKEND = "http"
    settings.LINE_API_BASE_URL = fake.url
    settings.LINE_TIMEOUT = 5
    yield fake
    fake.stop()
