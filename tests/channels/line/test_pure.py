"""The pure LINE pieces: signature, event parsing and dispatch, link codes, tokens, URLs, QR codes."""

import base64
import hashlib
import hmac
import json

import pytest
from django.core import signing

from channels import line_events, line_linking
from channels.line_signature import line_signature, line_signature_is_valid

SECRET = "8f0c2a6d4b1e9f7a3c5d2e1f0a9b8c7d"


def test_signature_is_base64_hmac_sha256_of_the_raw_body():
    body = b'{"destination":"U1","events":[]}'
    expected = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    assert line_signature(channel_secret=SECRET, body=body) == expected
    assert line_signature_is_valid(channel_secret=SECRET, body=body, signature=expected) is True


@pytest.mark.parametrize(
    "signature",
    [None, "", "not base64", line_signature(channel_secret="other secret", body=b"{}")],
)
def test_signature_refuses_missing_garbage_and_other_secrets(signature):
    assert line_signature_is_valid(channel_secret=SECRET, body=b"{}", signature=signature) is False


def test_signature_refuses_a_body_changed_by_one_byte_and_an_empty_secret():
    good = line_signature(channel_secret=SECRET, body=b'{"events":[]}')
    assert line_signature_is_valid(channel_secret=SECRET, body=b'{"events": []}', signature=good) is False
    empty = line_signature(channel_secret="", body=b"{}")
    assert line_signature_is_valid(channel_secret="", body=b"{}", signature=empty) is False


def test_signature_with_non_ascii_header_is_refused_not_an_error():
    assert line_signature_is_valid(channel_secret=SECRET, body=b"{}", signature="署名") is False


def _event(**extra):
    return {
        "type": "message",
        "webhookEventId": "01HZZZEVENT",
        "timestamp": 1764700000000,
        "source": {"type": "user", "userId": "U" + "a" * 32},
        "deliveryContext": {"isRedelivery": False},
        "replyToken": "rt",
        "mode": "active",
        "message": {"id": "m1", "type": "text", "text": "こんにちは"},
        **extra,
    }


def test_parse_message_follow_unfollow_account_link_and_others():
    body = json.dumps(
        {
            "destination": "Ubot",
            "events": [
                _event(),
                _event(type="follow", webhookEventId="e2", message=None),
                _event(type="unfollow", webhookEventId="e3", deliveryContext={"isRedelivery": True}),
                _event(type="accountLink", webhookEventId="e4", link={"result": "ok", "nonce": "n1"}),
                _event(type="postback", webhookEventId="e5"),
            ],
        }
    ).encode()
    events = line_events.parse_webhook_body(body)
    assert [(e.kind, e.webhook_event_id, e.is_redelivery) for e in events] == [
        ("message", "01HZZZEVENT", False),
        ("follow", "e2", False),
        ("unfollow", "e3", True),
        ("accountLink", "e4", False),
        ("other", "e5", False),
    ]
    message = events[0]
    assert (message.user_id, message.message_type, message.text, message.message_id) == (
        "U" + "a" * 32,
        "text",
        "こんにちは",
        "m1",
    )
    assert message.occurred_at.isoformat() == "2025-12-02T18:26:40+00:00"
    assert (events[3].link_result, events[3].link_nonce) == ("ok", "n1")
    assert events[4].line_type == "postback"


def test_parse_keeps_no_text_for_stickers_and_images():
    body = json.dumps({"events": [_event(message={"id": "m2", "type": "sticker", "packageId": "1"})]})
    (event,) = line_events.parse_webhook_body(body.encode())
    assert (event.message_type, event.text) == ("sticker", "")


def test_verify_request_has_no_events():
    assert line_events.parse_webhook_body(b'{"destination":"U1","events":[]}') == []


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'{"events": {}}',
        b'{"events": [1]}',
        b'{"events": [{"type": "follow", "timestamp": 1}]}',
        b'{"events": [{"type": "follow", "webhookEventId": "e", "timestamp": "1"}]}',
    ],
)
def test_parse_refuses_what_is_not_a_webhook_body(body):
    with pytest.raises(line_events.WebhookPayloadError):
        line_events.parse_webhook_body(body)


def test_dispatch_calls_the_handler_of_the_kind_and_ignores_the_rest():
    seen = []
    handlers = {"follow": lambda e: seen.append(e.webhook_event_id) or "followed"}
    follow, other = line_events.parse_webhook_body(
        json.dumps({"events": [_event(type="follow"), _event(type="beacon", webhookEventId="b")]}).encode()
    )
    assert line_events.dispatch_event(follow, handlers) == "followed"
    assert line_events.dispatch_event(other, handlers) == "ignored"
    assert seen == ["01HZZZEVENT"]


def test_link_codes_are_readable_and_found_in_short_messages_only():
    code = line_linking.link_code_new()
    assert len(code) == 9 and code[4] == "-"
    assert set(code.replace("-", "")) <= set(line_linking.CODE_ALPHABET)
    raw = code.replace("-", "")
    assert line_linking.link_code_candidates(f"連携コード: {code}") == [raw]
    assert line_linking.link_code_candidates(f"連携コード {raw.lower()}") == [raw]
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in raw)  # ＡＢＣ… typed on a phone
    assert line_linking.link_code_candidates(full_width) == [raw]
    assert line_linking.link_code_candidates("ABCDEFGHJK") == []  # a longer word is no code
    assert line_linking.link_code_candidates("車検の予約をしたいです") == []
    assert line_linking.link_code_candidates("x" * 80 + f" {code}") == []


def test_link_code_hash_depends_on_tenant_and_ignores_typing_differences():
    assert line_linking.link_code_hash(tenant_id=1, code="ABCD-EFGH") == line_linking.link_code_hash(
        tenant_id=1, code="abcd efgh"
    )
    assert line_linking.link_code_hash(tenant_id=1, code="ABCDEFGH") != line_linking.link_code_hash(
        tenant_id=2, code="ABCDEFGH"
    )


def test_link_token_round_trip_and_tampering():
    token = line_linking.link_token_make(tenant_id=7, line_user_id="Uabc")
    assert line_linking.link_token_read(token) == (7, "Uabc")
    with pytest.raises(signing.BadSignature):
        line_linking.link_token_read(token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    other_salt = signing.dumps({"t": 7, "u": "Uabc"}, salt="reminders.unsubscribe", compress=True)
    with pytest.raises(signing.BadSignature):
        line_linking.link_token_read(other_salt)


def test_link_token_expires(monkeypatch):
    token = line_linking.link_token_make(tenant_id=7, line_user_id="Uabc")
    monkeypatch.setattr(line_linking, "LINK_TOKEN_MAX_AGE", -1)
    with pytest.raises(signing.SignatureExpired):
        line_linking.link_token_read(token)


def test_webhook_key_is_stable_per_shop_and_unforgeable():
    key = line_linking.webhook_key_for(3)
    assert key == line_linking.webhook_key_for(3) != line_linking.webhook_key_for(4)
    assert line_linking.webhook_key_read(key) == 3
    forged = signing.Signer(salt="something else").sign_object(3)
    for bad in (forged, "3", key.replace("Mw", "NA", 1)):
        with pytest.raises(signing.BadSignature):
            line_linking.webhook_key_read(bad)


def test_line_urls():
    assert line_linking.add_friend_url("abc1234") == "https://line.me/R/ti/p/@abc1234"
    assert line_linking.add_friend_url("@abc1234") == "https://line.me/R/ti/p/@abc1234"
    assert (
        line_linking.prefilled_message_url("@abc1234", "連携コード ABCD-EFGH")
        == "https://line.me/R/oaMessage/@abc1234/?%E9%80%A3%E6%90%BA%E3%82%B3%E3%83%BC%E3%83%89%20ABCD-EFGH"
    )


def test_qr_svg_is_an_inline_svg_with_a_title_and_no_script():
    svg = line_linking.qr_svg("https://line.me/R/ti/p/@abc1234", title="QR <code>")
    assert svg.startswith("<svg") and "<title>QR &lt;code&gt;</title>" in svg
    assert "<script" not in svg
