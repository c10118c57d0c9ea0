"""LINE webhook bodies → plain event records, and the dispatch of each record to its handler.

Pure functions over the parsed JSON: no database, no tenant. The webhook view verifies the
signature first (channels.line_signature), then parses with `parse_webhook_body`, then hands each
event to `dispatch_event` with the handlers of channels.line_inbound.

Only what Kizuna acts on is kept; everything else LINE sends (postback, beacon, memberJoined, …)
becomes an event of kind "other" that is recorded for idempotency and otherwise ignored.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

FOLLOW = "follow"
UNFOLLOW = "unfollow"
MESSAGE = "message"
ACCOUNT_LINK = "accountLink"
OTHER = "other"
HANDLED_KINDS = frozenset({FOLLOW, UNFOLLOW, MESSAGE, ACCOUNT_LINK})

MAX_TEXT_LENGTH = 5000  # LINE's own limit for a text message


class WebhookPayloadError(ValueError):
    """The (correctly signed) body is not a LINE webhook body Kizuna understands."""


@dataclass(frozen=True)
class LineEvent:
    kind: str  # one of HANDLED_KINDS, or OTHER
    webhook_event_id: str
    line_type: str  # LINE's own `type`, kept for OTHER events
    occurred_at: datetime
    is_redelivery: bool
    user_id: str  # source.userId; "" when LINE does not send it (e.g. some group events)
    reply_token: str = ""
    message_id: str = ""
    message_type: str = ""  # text, image, sticker, …
    text: str = ""  # text messages only
    link_result: str = ""  # accountLink: ok | failed
    link_nonce: str = ""


def _str(value: Any, limit: int = 200) -> str:
    return value[:limit] if isinstance(value, str) else ""


def parse_event(raw: Mapping[str, Any]) -> LineEvent:
    """One event object of the `events` array. Raises WebhookPayloadError if it lacks the essentials."""
    if not isinstance(raw, Mapping):
        raise WebhookPayloadError("event is not an object")
    event_id = _str(raw.get("webhookEventId"), 64)
    line_type = _str(raw.get("type"), 40)
    timestamp = raw.get("timestamp")
    if not event_id or not line_type or not isinstance(timestamp, int) or isinstance(timestamp, bool):
        raise WebhookPayloadError("event without webhookEventId, type or timestamp")
    source = raw.get("source") if isinstance(raw.get("source"), Mapping) else {}
    delivery = raw.get("deliveryContext") if isinstance(raw.get("deliveryContext"), Mapping) else {}
    fields: dict[str, Any] = {
        "kind": line_type if line_type in HANDLED_KINDS else OTHER,
        "webhook_event_id": event_id,
        "line_type": line_type,
        "occurred_at": datetime.fromtimestamp(timestamp / 1000, tz=UTC),
        "is_redelivery": delivery.get("isRedelivery") is True,
        "user_id": _str(source.get("userId"), 64),
        "reply_token": _str(raw.get("replyToken"), 255),
    }
    if line_type == MESSAGE:
        message = raw.get("message") if isinstance(raw.get("message"), Mapping) else {}
        fields["message_id"] = _str(message.get("id"), 64)
        fields["message_type"] = _str(message.get("type"), 20)
        if fields["message_type"] == "text":
            fields["text"] = _str(message.get("text"), MAX_TEXT_LENGTH)
    elif line_type == ACCOUNT_LINK:
        link = raw.get("link") if isinstance(raw.get("link"), Mapping) else {}
        fields["link_result"] = _str(link.get("result"), 10)
        fields["link_nonce"] = _str(link.get("nonce"), 255)
    return LineEvent(**fields)


def parse_webhook_body(body: bytes) -> list[LineEvent]:
    """All events of a webhook body (an empty list for LINE's "Verify" request, which has none)."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise WebhookPayloadError("body is not JSON") from exc
    if not isinstance(data, Mapping) or not isinstance(data.get("events"), list):
        raise WebhookPayloadError("body has no events array")
    return [parse_event(raw) for raw in data["events"]]


Handler = Callable[[LineEvent], str]


def dispatch_event(event: LineEvent, handlers: Mapping[str, Handler]) -> str:
    """Call the handler of the event's kind; returns the handler's outcome ("ignored" when none)."""
    handler = handlers.get(event.kind)
    if handler is None:
        return "ignored"
    return handler(event)
