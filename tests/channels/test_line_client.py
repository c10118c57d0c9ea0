"""The LINE push client against the fake LINE API (real HTTP on 127.0.0.1)."""

import json

import pytest

from channels.delivery import (
    PermanentDeliveryError,
    RecipientRefused,
    RetryableDeliveryError,
    idempotency_key,
)
from channels.line import OutboxLineBackend, build_messages, line_backend
from tests.fakes.line_api import line_user_id

USER = line_user_id(1)


def test_push_sends_bearer_token_json_and_retry_key(line_shop, fake_line):
    key = idempotency_key("reminder", line_shop.pk, 7)
    request_id = line_backend(line_shop.pk).push(
        to=USER, messages=build_messages(text="車検のご案内"), retry_key=key
    )
    assert request_id
    [delivered] = fake_line.delivered
    assert delivered == {
        "to": USER,
        "messages": [{"type": "text", "text": "車検のご案内"}],
        "retry_key": key,
        "request_id": request_id,
    }
    assert fake_line.requests[0]["headers"]["authorization"] == "Bearer line-access-token-of-shop-a"


def test_the_same_retry_key_is_never_shown_twice(line_shop, fake_line):
    backend = line_backend(line_shop.pk)
    key = idempotency_key("reminder", line_shop.pk, 7)
    first = backend.push(to=USER, messages=build_messages(text="a"), retry_key=key)
    again = backend.push(to=USER, messages=build_messages(text="a"), retry_key=key)  # 409: accepted before
    assert again == first
    assert len(fake_line.delivered) == 1
    assert [r["status"] for r in fake_line.requests] == [200, 409]


def test_retry_key_is_deterministic_per_message():
    assert idempotency_key("reminder", 1, 7) == idempotency_key("reminder", 1, 7)
    assert idempotency_key("reminder", 1, 7) != idempotency_key("reminder", 2, 7)
    assert idempotency_key("reminder", 1, 7) != idempotency_key("reminder", 1, 8)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_rate_limit_and_server_errors_are_retryable(line_shop, fake_line, status):
    fake_line.fail_next(1, status, retry_after=3)
    with pytest.raises(RetryableDeliveryError) as info:
        line_backend(line_shop.pk).push(
            to=USER, messages=build_messages(text="a"), retry_key=idempotency_key("r", 1, 1)
        )
    assert info.value.retry_after == 3
    assert fake_line.delivered == []


def test_connection_refused_is_retryable(line_shop, fake_line):
    fake_line.stop()
    with pytest.raises(RetryableDeliveryError, match="connection error"):
        line_backend(line_shop.pk).push(
            to=USER, messages=build_messages(text="a"), retry_key=idempotency_key("r", 1, 1)
        )


def test_blocked_user_is_refused(line_shop, fake_line):
    fake_line.blocked.add(USER)
    with pytest.raises(RecipientRefused, match="LINE 400"):
        line_backend(line_shop.pk).push(
            to=USER, messages=build_messages(text="a"), retry_key=idempotency_key("r", 1, 1)
        )


def test_wrong_token_is_permanent(tenant, fake_line):
    from channels.services import channel_settings_update

    channel_settings_update(tenant=tenant, line_access_token="not-the-token", line_channel_secret="s")
    with pytest.raises(PermanentDeliveryError, match="LINE 401"):
        line_backend(tenant.pk).push(
            to=USER, messages=build_messages(text="a"), retry_key=idempotency_key("r", 1, 1)
        )


def test_shop_without_token_fails_without_a_request(tenant, fake_line):
    with pytest.raises(PermanentDeliveryError, match="not set up"):
        line_backend(tenant.pk).push(
            to=USER, messages=build_messages(text="a"), retry_key=idempotency_key("r", 1, 1)
        )
    assert fake_line.requests == []


def test_booking_link_adds_a_buttons_template_the_api_accepts(line_shop, fake_line):
    messages = build_messages(text="車検のご案内", booking_url="https://shop.example/book/x", title="Shop A")
    line_backend(line_shop.pk).push(to=USER, messages=messages, retry_key=idempotency_key("r", 1, 1))
    [delivered] = fake_line.delivered
    template = delivered["messages"][1]
    assert template["type"] == "template"
    assert template["template"]["actions"] == [
        {"type": "uri", "label": "予約する", "uri": "https://shop.example/book/x"}
    ]


def test_outbox_backend_writes_one_file_per_retry_key(tenant, settings):
    backend = OutboxLineBackend(tenant.pk)
    key = idempotency_key("reminder", tenant.pk, 3)
    backend.push(to=USER, messages=build_messages(text="a"), retry_key=key)
    backend.push(to=USER, messages=build_messages(text="a"), retry_key=key)
    files = list(settings.LINE_OUTBOX_DIR.glob("*.json"))
    assert [f.name for f in files] == [f"{tenant.pk}-{key}.json"]
    assert json.loads(files[0].read_text())["messages"] == [{"type": "text", "text": "a"}]


def test_undecryptable_credentials_fail_each_push_without_a_request(line_shop, fake_line, settings):
    settings.SECRET_KEY = "another-secret-key-than-the-one-that-encrypted-the-token-0123456789"
    with pytest.raises(PermanentDeliveryError, match="cannot be decrypted"):
        line_backend(line_shop.pk).push(
            to=USER, messages=build_messages(text="a"), retry_key=idempotency_key("r", 1, 1)
        )
    assert fake_line.requests == []
