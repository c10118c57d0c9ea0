"""`X-Line-Signature` of LINE webhooks: base64(HMAC-SHA256(key = channel secret, message = raw body)).

LINE publishes no source IP ranges, so this signature is the only proof a webhook came from LINE for
this channel. It is computed over the raw request bytes, before any JSON parsing (a parser would
normalise whitespace or key order and break the comparison), and compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

SIGNATURE_HEADER = "HTTP_X_LINE_SIGNATURE"  # request.META key of `X-Line-Signature`


def line_signature(*, channel_secret: str, body: bytes) -> str:
    """The signature LINE sends for `body` on a channel with `channel_secret` (tests sign with it too)."""
    digest = hmac.new(channel_secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def line_signature_is_valid(*, channel_secret: str, body: bytes, signature: str | None) -> bool:
    """True only for a non-empty secret and the exact signature of `body` (constant-time compare)."""
    if not channel_secret or not signature:
        return False
    expected = line_signature(channel_secret=channel_secret, body=body)
    return hmac.compare_digest(expected.encode("ascii"), signature.strip().encode("ascii", "replace"))
