"""Short signed links for SMS (and any message where 70 characters count): /s/<token>/.

The token carries the tenant id, the customer id and a purpose letter, in base 36, plus a truncated
HMAC (SECRET_KEY, salted; 72 bits, base64url): "1z.3f2.u.Xb4…" is about 20 characters. It cannot be
guessed or altered; it does not expire (an opt-out link must keep working).

What a purpose leads to is registered by the app that owns the page (channels cannot import it):
reminders registers "u" (the unsubscribe page) in its AppConfig.ready(); bookings may add "b".
"""

from __future__ import annotations

import base64
from collections.abc import Callable

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

SALT = "kizuna.channels.shortlink"
SIGNATURE_BYTES = 9

# purpose letter → function (tenant_id, customer_id) -> absolute or site-relative URL
SHORT_LINK_TARGETS: dict[str, Callable[[int, int], str]] = {}


def register_short_link(purpose: str, target: Callable[[int, int], str]) -> None:
    if len(purpose) != 1 or not purpose.isalpha():
        raise ValueError("a purpose is one letter")
    SHORT_LINK_TARGETS[purpose] = target


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def _sign(payload: str) -> str:
    mac = salted_hmac(SALT, payload, algorithm="sha256").digest()[:SIGNATURE_BYTES]
    return base64.urlsafe_b64encode(mac).decode("ascii").rstrip("=")


def short_token(*, tenant_id: int, customer_id: int, purpose: str) -> str:
    payload = f"{_b36(int(tenant_id))}.{_b36(int(customer_id))}.{purpose}"
    return f"{payload}.{_sign(payload)}"


def read_short_token(token: str) -> tuple[int, int, str] | None:
    """(tenant id, customer id, purpose), or None for anything forged, altered or malformed."""
    parts = token.split(".")
    if len(parts) != 4:
        return None
    payload = ".".join(parts[:3])
    if not constant_time_compare(_sign(payload), parts[3]):
        return None
    try:
        return int(parts[0], 36), int(parts[1], 36), parts[2]
    except ValueError:
        return None


def short_url(*, tenant_id: int, customer_id: int, purpose: str) -> str:
    base = getattr(settings, "SHORT_LINK_BASE_URL", "") or settings.SITE_URL
    return (
        f"{base.rstrip('/')}/s/{short_token(tenant_id=tenant_id, customer_id=customer_id, purpose=purpose)}"
    )
