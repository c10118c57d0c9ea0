"""A fake generic SMS provider (the API documented in channels/sms.py), real HTTP on 127.0.0.1.

Checks `Authorization: Bearer <key>`, the JSON body (`to` in E.164 +81…, `text` non-empty) and the
`Idempotency-Key` (a repeated key answers 200 with the first id and sends nothing). Numbers in
`invalid` get 400 `{"code": "invalid_number"}`. `fail_next(...)`, `stop()`/`start()` as for LINE.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from typing import Any

from tests.fakes.base import FakeHTTPServer

_E164_JP = re.compile(r"^\+81[1-9]\d{8,9}$")


class FakeSmsAPI(FakeHTTPServer):
    def __init__(self, *, keys: set[str] | str = "sms-key", port: int = 0):
        super().__init__(port=port)
        self.keys = {keys} if isinstance(keys, str) else set(keys)
        self.invalid: set[str] = set()
        self.by_key: dict[str, str] = {}
        self.sent: list[dict[str, Any]] = []
        self.sent_by_key: Counter[str] = Counter()

    def handle(self, method: str, path: str, headers: dict, body: Any) -> tuple[int, dict, dict]:
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[len("Bearer ") :] not in self.keys:
            return 401, {"message": "invalid api key"}, {}
        if method != "POST" or path != "/v1/messages":
            return 404, {"message": "not found"}, {}
        if not isinstance(body, dict):
            return 400, {"message": "JSON body required"}, {}
        key = headers.get("idempotency-key")
        if not key:
            return 400, {"message": "Idempotency-Key required"}, {}
        to, text = body.get("to"), body.get("text")
        if not isinstance(to, str) or not _E164_JP.match(to):
            return 400, {"code": "invalid_number", "message": "to must be E.164"}, {}
        if not isinstance(text, str) or not text:
            return 400, {"code": "invalid_text", "message": "text required"}, {}
        with self.lock:
            if key in self.by_key:
                return 200, {"id": self.by_key[key], "status": "accepted"}, {}
            if to in self.invalid:
                return 400, {"code": "invalid_number", "message": "number cannot receive SMS"}, {}
            message_id = "msg_" + uuid.uuid4().hex[:16]
            self.by_key[key] = message_id
            self.sent_by_key[key] += 1
            self.sent.append({"to": to, "from": body.get("from"), "text": text, "key": key, "id": message_id})
        return 201, {"id": message_id, "status": "accepted"}, {}
