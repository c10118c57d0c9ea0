"""The booking link in a reminder: a signed, expiring token naming one reminder of one shop.

The bookings app (a layer above) reads it with `booking_token_read` and resolves the reminder to
its customer, vehicle and occasion; reminders only sign it and put the URL in the template context.
"""

from __future__ import annotations

import calendar
from datetime import date

from django.conf import settings
from django.core import signing
from django.urls import reverse

BOOKING_SALT = "reminders.booking"
# The occasions whose reminders book a visit (the bookings app maps each to a work type): their
# templates should carry the link, and the template editor says so when one does not.
BOOKING_LINK_KINDS = ("inspection", "check_12m", "check_6m", "seasonal")
BOOKING_LINK_FIELD = "{{ booking_url }}"
# The line the template editor adds at the end of a body without the link (no JavaScript).
BOOKING_LINE = {"ja": "ご予約はこちらから：\n{{ booking_url }}", "en": "Book online: {{ booking_url }}"}
# A 車検 reminder goes out up to 90 days before the expiry; the link must outlive the occasion.
BOOKING_MAX_AGE = 180 * 24 * 3600


class _IssuedOn(signing.TimestampSigner):
    """Signs with the start of a given day as its timestamp instead of now, so the link of one reminder
    is the same string every time its message is built (a reprinted postcard is the same PDF)."""

    def __init__(self, issued_on: date, **kwargs):
        super().__init__(**kwargs)
        self._timestamp = calendar.timegm(issued_on.timetuple())

    def timestamp(self):
        return signing.b62_encode(self._timestamp)


def booking_token(*, tenant_id: int, reminder_id: int, issued_on: date | None = None) -> str:
    """The token for one reminder; `issued_on` (the reminder's due date) makes it stable, and its age
    then counts from that day."""
    if issued_on is None:
        return signing.dumps([tenant_id, reminder_id], salt=BOOKING_SALT)
    return _IssuedOn(issued_on, salt=BOOKING_SALT).sign_object([tenant_id, reminder_id])


def booking_token_read(token: str, *, max_age: int = BOOKING_MAX_AGE) -> tuple[int, int]:
    """(tenant id, reminder id) of a valid token; raises signing.BadSignature when tampered with
    and signing.SignatureExpired (a subclass) when older than `max_age` seconds."""
    value = signing.loads(token, salt=BOOKING_SALT, max_age=max_age)
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value)):
        raise signing.BadSignature("malformed booking token")
    return value[0], value[1]


def booking_url(*, tenant_id: int, reminder_id: int, issued_on: date | None = None) -> str:
    """The absolute URL of the public booking page for this reminder (the bookings app serves it;
    reminders names it by URL name only, so it does not import the layer above)."""
    token = booking_token(tenant_id=tenant_id, reminder_id=reminder_id, issued_on=issued_on)
    return settings.SITE_URL.rstrip("/") + reverse("bookings_public:from_reminder", kwargs={"token": token})
