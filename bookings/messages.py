"""What a booking tells the customer and the reminders: confirmation, day-before message, skips.

Called by the booking services inside their transaction, so a booking that rolls back leaves no
message behind.
"""

from __future__ import annotations

from bookings.models import Booking
from crm.models import Tenant


def on_booked(*, tenant: Tenant, booking: Booking) -> None:
    """A new booking: the confirmation and the day-before message are queued."""


def on_moved(*, tenant: Tenant, booking: Booking) -> None:
    """A moved booking: the old day-before message is dropped, new ones are queued."""


def on_cancelled(*, tenant: Tenant, booking: Booking) -> None:
    """A cancelled (or no-show) booking: its pending messages are dropped."""
