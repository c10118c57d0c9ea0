"""A shop with capacity: Mon–Sat 9:00–12:00 and 13:00–18:00 (Asia/Tokyo), 30-minute grid, no notice."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from bookings import services
from bookings.holidays import public_holidays
from bookings.models import BookingSettings, WorkType
from customers.models import ServiceKind
from tests.factories import CustomerFactory, VehicleFactory, WorkTypeFactory

TOKYO = ZoneInfo("Asia/Tokyo")


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=TOKYO)


def next_open_day(after: date, *, min_days: int = 3) -> date:
    """The first Monday–Saturday that is not a public holiday, at least `min_days` after `after`."""
    day = after + timedelta(days=min_days)
    holidays = public_holidays(day, day + timedelta(days=30))
    while day.weekday() == 6 or day in holidays:
        day += timedelta(days=1)
    return day


def give_capacity(tenant, *, lead_time_hours: int = 0) -> dict[str, WorkType]:
    services.booking_defaults_create(tenant=tenant)
    BookingSettings.objects.for_tenant(tenant).update(lead_time_hours=lead_time_hours)
    return {w.code: w for w in WorkType.objects.for_tenant(tenant)}


@pytest.fixture(autouse=True)
def _english_messages():
    """Assertions on service messages read the English msgids; the default language is Japanese."""
    with translation.override("en"):
        yield


@pytest.fixture
def capacity(tenant):
    return give_capacity(tenant)


@pytest.fixture
def one_pit(tenant, capacity):
    """A work type of 60 minutes with a single pit."""
    return WorkTypeFactory(
        tenant=tenant,
        code="one-pit",
        name="修理",
        service_kind=ServiceKind.REPAIR,
        duration_minutes=60,
        capacity=1,
    )


@pytest.fixture
def customer(tenant):
    return CustomerFactory(tenant=tenant)


@pytest.fixture
def vehicle(customer):
    return VehicleFactory(customer=customer, plate_number="品川 300 さ 12-34")
