"""A fake LINE Messaging API: real HTTP on 127.0.0.1, strict like the real one where Kizuna relies on it.

* `Authorization: Bearer <token>` must be one of `tokens` (401 otherwise).
* `POST /v2/bot/message/push`: JSON `{"to": userId, "messages": [1–5 objects]}`; each message is a
  `text` (non-empty, ≤ 5,000 characters), `template` (with `altText` and `template`) or `flex` (with
  `altText` and `contents`); anything else is 400.
* `X-Line-Retry-Key` must be a UUID when present. A key already accepted answers 409 with
  `x-line-accepted-request-id` and delivers nothing, as LINE does within 24 h; a request that failed
  (forced 429/5xx) does not burn its key.
* Users in `blocked` get 400 ("not a friend"), like a push to a user who blocked the account or an
  invalid userId.
* `fail_next(n, status, retry_after=…, accept=…)` forces answers on demand; `stop()` / `start()`
  refuse connections for a while (provider down).
* `delivered` is what the customers would see: one entry per accepted push.
* Also `POST /v2/bot/message/reply`, `GET /v2/bot/profile/{userId}` and
  `POST /v2/bot/user/{userId}/linkToken` for the inbound side.

Run standalone (benchmarks, fault drills with workers in other processes):
`python -m tests.fakes.line_api --port 8765 --token T`; `GET /__fake__/stats` returns the counters.
"""

from __future__ import annotations

import argparse
import re
import time
import uuid
from collections import Counter
from typing import Any

from tests.fakes.base import FakeHTTPServer

MAX_MESSAGES = 5
MAX_TEXT = 5000
_USER_ID = re.compile(r"^U[0-9a-f]{32}$")
_PROFILE = re.compile(r"^/v2/bot/profile/(U[0-9a-f]{32})$")
_LINK_TOKEN = re.compile(r"^/v2/bot/user/(U[0-9a-f]{32})/linkToken$")


def line_user_id(n: int | str) -> str:
    """A well-formed LINE userId for test data ("U" + 32 hex digits)."""
    return "U" + uuid.uuid5(uuid.NAMESPACE_URL, f"line-user-{n}").hex


def _message_problem(message: Any) -> str | None:
    if not isinstance(message, dict):
        return "message must be an object"
    kind = message.get("type")
    if kind == "text":
        text = message.get("text")
        if not isinstance(text, str) or not text:
            return "text must be a non-empty string"
        if len(text) > MAX_TEXT:
            return "text too long"
        return None
    if kind == "template":
        template = message.get("template")
        if not message.get("altText") or not isinstance(template, dict) or not template.get("type"):
            return "template needs altText and template.type"
        for action in template.get("actions", []):
            if action.get("type") == "uri" and not str(action.get("uri", "")).startswith(
                ("https://", "http://")
            ):
                return "uri action needs an http(s) uri"
        return None
    if kind == "flex":
        if not message.get("altText") or not isinstance(message.get("contents"), dict):
            return "flex needs altText and contents"
        return None
    return f"unsupported message type {kind!r}"


class FakeLineAPI(FakeHTTPServer):
    def __init__(self, *, tokens: set[str] | str = "test-token", port: int = 0):
        super().__init__(port=port)
        self.tokens = {tokens} if isinstance(tokens, str) else set(tokens)
        self.blocked: set[str] = set()
        self.accepted_keys: dict[str, str] = {}
        self.delivered: list[dict[str, Any]] = []
        self.delivered_at: list[float] = []  # monotonic time of each entry of `delivered`
        self.record_deliveries = True
        self.delivered_count = 0
        self.delivered_by_key: Counter[str] = Counter()
        self.status_counts: Counter[int] = Counter()
        self.replies: list[dict[str, Any]] = []
        self.profiles: dict[str, str] = {}
        self.first_delivery_at: float | None = None
        self.last_delivery_at: float | None = None

    # --- what the customers saw -------------------------------------------------------------------
    def shown_twice(self) -> list[str]:
        """Retry keys delivered more than once (0 with a working retry key)."""
        with self.lock:
            return [k for k, n in self.delivered_by_key.items() if n > 1]

    def delivered_to(self, user_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [d for d in self.delivered if d["to"] == user_id]

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": self.request_count,
                "delivered": self.delivered_count,
                "unique_keys": len(self.delivered_by_key),
                "shown_twice": len([k for k, n in self.delivered_by_key.items() if n > 1]),
                "statuses": {str(k): v for k, v in self.status_counts.items()},
                "first_delivery_at": self.first_delivery_at,
                "last_delivery_at": self.last_delivery_at,
            }

    # --- the API ----------------------------------------------------------------------------------
    def _dispatch(self, method, path, headers, raw):
        status, body, out_headers = super()._dispatch(method, path, headers, raw)
        with self.lock:
            self.status_counts[status] += 1
        return status, body, out_headers

    def handle(self, method: str, path: str, headers: dict, body: Any) -> tuple[int, dict, dict]:
        request_id = uuid.uuid4().hex
        rid = {"x-line-request-id": request_id}
        if method == "GET" and path == "/__fake__/stats":
            return 200, self.stats(), {}
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[len("Bearer ") :] not in self.tokens:
            return (
                401,
                {"message": "Authentication failed. Confirm that the access token is valid."},
                rid,
            )
        if method == "GET" and (m := _PROFILE.match(path)):
            user = m.group(1)
            return 200, {"userId": user, "displayName": self.profiles.get(user, "LINE User")}, rid
        if method == "POST" and (m := _LINK_TOKEN.match(path)):
            return 200, {"linkToken": uuid.uuid4().hex}, rid
        if method == "POST" and path == "/v2/bot/message/reply":
            if body is None or not body.get("replyToken") or not body.get("messages"):
                return 400, {"message": "The request body has 1 error(s)"}, rid
            with self.lock:
                self.replies.append(body)
            return 200, {"sentMessages": [{"id": request_id}]}, rid
        if method != "POST" or path != "/v2/bot/message/push":
            return 404, {"message": "Not found"}, rid
        if "application/json" not in headers.get("content-type", ""):
            return 400, {"message": "Content-Type must be application/json"}, rid
        if body is None or not isinstance(body, dict):
            return 400, {"message": "The request body could not be parsed as JSON"}, rid
        key = headers.get("x-line-retry-key")
        if key is not None:
            try:
                uuid.UUID(key)
            except ValueError:
                return 400, {"message": "The value of the X-Line-Retry-Key header is invalid"}, rid
        to, messages = body.get("to"), body.get("messages")
        if not isinstance(to, str) or not _USER_ID.match(to):
            return (
                400,
                {"message": "The property, 'to', in the request body is invalid (line 1, column 7)"},
                rid,
            )
        if not isinstance(messages, list) or not 1 <= len(messages) <= MAX_MESSAGES:
            return 400, {"message": "Size must be between 1 and 5", "property": "messages"}, rid
        for message in messages:
            if problem := _message_problem(message):
                return 400, {"message": problem, "property": "messages"}, rid
        with self.lock:
            if key is not None and key in self.accepted_keys:
                return (
                    409,
                    {
                        "message": "The retry key is already accepted",
                        "sentMessages": [{"id": self.accepted_keys[key]}],
                    },
                    {**rid, "x-line-accepted-request-id": self.accepted_keys[key]},
                )
            if to in self.blocked:
                return (
                    400,
                    {
                        "message": "Failed to send messages",
                        "details": [
                            {
                                "message": "The user hasn't added the LINE Official Account as a friend.",
                                "property": "to",
                            }
                        ],
                    },
                    rid,
                )
            if key is not None:
                self.accepted_keys[key] = request_id
                self.delivered_by_key[key] += 1
            self.delivered_count += 1
            now = time.monotonic()
            self.first_delivery_at = self.first_delivery_at or now
            self.last_delivery_at = now
            if self.record_deliveries:
                self.delivered.append(
                    {"to": to, "messages": messages, "retry_key": key, "request_id": request_id}
                )
                self.delivered_at.append(now)
        return 200, {"sentMessages": [{"id": request_id}]}, rid


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the fake LINE Messaging API on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--token", action="append", default=[])
    parser.add_argument("--quiet", action="store_true", help="count only; keep no per-message records")
    args = parser.parse_args()
    fake = FakeLineAPI(tokens=set(args.token) or {"test-token"}, port=args.port)
    if args.quiet:
        fake.record_requests = fake.record_deliveries = False
    fake.start()
    print(f"fake LINE API on {fake.url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
