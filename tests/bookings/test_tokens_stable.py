"""A reminder's booking link is the same string every time its message is built (reprints, retries)."""

from datetime import date, timedelta

import pytest
from django.core import signing

from reminders.links import BOOKING_MAX_AGE, booking_token, booking_token_read


def test_a_token_issued_on_a_day_is_stable_and_reads_back():
    first = booking_token(tenant_id=3, reminder_id=42, issued_on=date.today())
    assert booking_token(tenant_id=3, reminder_id=42, issued_on=date.today()) == first
    assert booking_token_read(first) == (3, 42)


def test_its_age_counts_from_the_day_it_names():
    old = booking_token(tenant_id=3, reminder_id=42, issued_on=date.today() - timedelta(days=200))
    assert BOOKING_MAX_AGE < 200 * 24 * 3600
    with pytest.raises(signing.SignatureExpired):
        booking_token_read(old)
