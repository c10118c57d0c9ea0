"""The booking link in a reminder: a signed, expiring token naming one reminder of one shop.

The bookings app (a layer above) reads it with `booking_token_read` and resolves the reminder to
its customer, vehicle and occasion; reminders only sign it and put the URL in the template context.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

BOOKING_SALT = "reminders.booking"
# A 車検 reminder goes out up to 90 days before the expiry; the link must outlive the occasion.
BOOKING_MAX_AGE = 180 * 24 * 3600


def booking_token(*, tenant_id: int, reminder_id: int) -> str:
    return signing.dumps([tenant_id, reminder_id], salt=BOOKING_SALT)


def booking_token_read(token: str, *, max_age: int = BOOKING_MAX_AGE) -> tuple[int, int]:
    """(tenant id, reminder id) of a valid token; raises signing.BadSignature when tampered with
    and signing.SignatureExpired (a subclass) when older than `max_age` seconds."""
    value = signing.loads(token, salt=BOOKING_SALT, max_age=max_age)
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value)):
        raise signing.BadSignature("malformed booking token")
    return value[0], value[1]


def booking_url(*, tenant_id: int, reminder_id: int) -> str:
    """The absolute URL of the public booking page for this reminder (the bookings app serves it;
    reminders names it by URL name only, so it does not import the layer above)."""
    token = booking_token(tenant_id=tenant_id, reminder_id=reminder_id)
    return settings.SITE_URL.rstrip("/") + reverse("bookings_public:from_reminder", kwargs={"token": token})
