"""Signed links of the public booking pages (no login): the shop link and a booking's own link.

The per-reminder link is signed by reminders (reminders/links.py), which knows its reminders;
each kind of token has its own salt, so one kind is never accepted in place of another.
"""

from __future__ import annotations

from django.core import signing

SHOP_SALT = "bookings.shop"
MANAGE_SALT = "bookings.manage"
# A booking's link is in its confirmation e-mail; it keeps working for a while after the visit
# (to see what was booked), never for ever.
MANAGE_MAX_AGE = 400 * 24 * 3600


def shop_token(*, tenant_id: int) -> str:
    """The shop's generic booking link (website, LINE profile, QR code at the counter). No expiry."""
    return signing.dumps(["s", tenant_id], salt=SHOP_SALT)


def shop_token_read(token: str) -> int:
    """The tenant id of a shop token; raises signing.BadSignature when tampered with."""
    value = signing.loads(token, salt=SHOP_SALT)
    if not (isinstance(value, list) and len(value) == 2 and value[0] == "s" and isinstance(value[1], int)):
        raise signing.BadSignature("malformed shop token")
    return value[1]


def manage_token(*, tenant_id: int, booking_id: int) -> str:
    return signing.dumps([tenant_id, booking_id], salt=MANAGE_SALT)


def manage_token_read(token: str) -> tuple[int, int]:
    """(tenant id, booking id); raises signing.BadSignature (or SignatureExpired, a subclass)."""
    value = signing.loads(token, salt=MANAGE_SALT, max_age=MANAGE_MAX_AGE)
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value)):
        raise signing.BadSignature("malformed booking token")
    return value[0], value[1]
