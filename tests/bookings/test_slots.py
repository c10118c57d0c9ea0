"""Slot computation: opening hours, public holidays, closed days, lead time, horizon, capacity by work
type, and bookings that overlap a slot. Fixed dates: Monday 2027-01-04 08:00 in Tokyo is "now"."""

from __future__ import annotations

from datetime import date, time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bookings import services
from bookings.holidays import public_holidays
from bookings.models import BookingSettings, BookingSource
from bookings.slots import free_slots, slot_days
from tests.bookings.conftest import at
from tests.factories import CustomerFactory, VehicleFactory

pytestmark = pytest.mark.django_db

NOW = at(date(2027, 1, 4), 8)  # Monday


def starts(slots) -> list[str]:
    return [s.starts_at.strftime("%m-%d %H:%M") for s in slots]


def book(tenant, work_type, when, **kwargs):
    customer = CustomerFactory(tenant=tenant)
    return services.booking_create(
        tenant=tenant,
        customer=customer,
        vehicle=VehicleFactory(customer=customer),
        work_type=work_type,
        starts_at=when,
        source=BookingSource.PHONE,
        now=NOW,
        **kwargs,
    )


def test_known_public_holidays_including_substitute_days():
    assert public_holidays(date(2027, 1, 1), date(2027, 1, 31)) == {
        date(2027, 1, 1): "元日",
        date(2027, 1, 11): "成人の日",
    }
    # 憲法記念日 2026-05-03 is a Sunday: the Wednesday after the Golden Week run is the 振替休日.
    assert date(2026, 5, 6) in public_holidays(date(2026, 5, 1), date(2026, 5, 7))
    # 春分の日 2027-03-21 is a Sunday: Monday 22nd is off.
    assert "振替休日" in public_holidays(date(2027, 3, 22), date(2027, 3, 22))[date(2027, 3, 22)]


def test_a_day_follows_the_opening_hours_and_the_grid(tenant, one_pit):
    slots = free_slots(
        tenant=tenant, work_type=one_pit, start=date(2027, 1, 5), end=date(2027, 1, 5), now=NOW
    )
    # 60 minutes on a 30-minute grid, never across the lunch break, ending by 18:00.
    assert starts(slots) == [
        "01-05 09:00", "01-05 09:30", "01-05 10:00", "01-05 10:30", "01-05 11:00",
        "01-05 13:00", "01-05 13:30", "01-05 14:00", "01-05 14:30", "01-05 15:00",
        "01-05 15:30", "01-05 16:00", "01-05 16:30", "01-05 17:00",
    ]  # fmt: skip
    assert {s.free for s in slots} == {1}


def test_sundays_public_holidays_and_the_shops_closed_days_have_no_slots(tenant, one_pit):
    services.closed_day_add(tenant=tenant, day=date(2027, 1, 12), note="棚卸し")
    days = slot_days(tenant=tenant, work_type=one_pit, first=date(2027, 1, 10), days=4, now=NOW)
    assert [(d.day, d.closed_reason, len(d.slots)) for d in days] == [
        (date(2027, 1, 10), "Regular holiday", 0),  # Sunday
        (date(2027, 1, 11), "成人の日", 0),
        (date(2027, 1, 12), "棚卸し", 0),
        (date(2027, 1, 13), "", 14),
    ]


def test_a_shop_open_on_public_holidays_gets_slots_on_them(tenant, one_pit):
    services.booking_settings_update(tenant=tenant, data={"closed_on_public_holidays": False})
    slots = free_slots(
        tenant=tenant, work_type=one_pit, start=date(2027, 1, 11), end=date(2027, 1, 11), now=NOW
    )
    assert len(slots) == 14


def test_lead_time_hides_slots_too_soon(tenant, one_pit):
    services.booking_settings_update(tenant=tenant, data={"lead_time_hours": 26})
    # now + 26 h = Tuesday 10:00: Tuesday's first bookable start is 10:00.
    slots = free_slots(
        tenant=tenant, work_type=one_pit, start=date(2027, 1, 4), end=date(2027, 1, 5), now=NOW
    )
    assert starts(slots)[0] == "01-05 10:00"
    # Staff booking by phone are not bound by the notice.
    by_phone = free_slots(
        tenant=tenant, work_type=one_pit, start=date(2027, 1, 4), end=date(2027, 1, 4), now=NOW, online=False
    )
    assert starts(by_phone)[0] == "01-04 09:00"


def test_the_horizon_ends_online_booking(tenant, one_pit):
    services.booking_settings_update(tenant=tenant, data={"horizon_days": 3})
    slots = free_slots(
        tenant=tenant, work_type=one_pit, start=date(2027, 1, 4), end=date(2027, 1, 31), now=NOW
    )
    assert {s.starts_at.date() for s in slots} == {
        date(2027, 1, 4),
        date(2027, 1, 5),
        date(2027, 1, 6),
        date(2027, 1, 7),
    }


def test_capacity_is_per_work_type_and_bookings_overlap_later_starts(tenant, capacity, one_pit):
    day = date(2027, 1, 5)
    book(tenant, one_pit, at(day, 10))
    slots = starts(free_slots(tenant=tenant, work_type=one_pit, start=day, end=day, now=NOW))
    # 10:00–11:00 is held: 9:30 (overlaps 10:00–10:30), 10:00 and 10:30 are gone; 9:00 and 11:00 stay.
    assert "01-05 09:00" in slots and "01-05 11:00" in slots
    assert not {"01-05 09:30", "01-05 10:00", "01-05 10:30"} & set(slots)
    # 車検 has two pits of its own: one booking leaves one seat, the repair booking takes none of it.
    shaken = capacity["shaken"]
    book(tenant, shaken, at(day, 9))
    after_one = free_slots(tenant=tenant, work_type=shaken, start=day, end=day, now=NOW)
    assert [s.free for s in after_one if s.starts_at == at(day, 9)] == [1]
    book(tenant, shaken, at(day, 9))
    after_two = starts(free_slots(tenant=tenant, work_type=shaken, start=day, end=day, now=NOW))
    assert "01-05 09:00" not in after_two and "01-05 10:00" not in after_two  # 120 minutes: 9–11
    assert "01-05 13:00" in after_two


def test_a_cancelled_booking_frees_its_slot(tenant, one_pit):
    day = date(2027, 1, 5)
    booking = book(tenant, one_pit, at(day, 10))
    services.booking_cancel(tenant=tenant, booking=booking)
    assert "01-05 10:00" in starts(free_slots(tenant=tenant, work_type=one_pit, start=day, end=day, now=NOW))


def test_an_hour_grid_offers_fewer_starts(tenant, one_pit):
    services.booking_settings_update(tenant=tenant, data={"slot_minutes": 60})
    slots = free_slots(
        tenant=tenant, work_type=one_pit, start=date(2027, 1, 5), end=date(2027, 1, 5), now=NOW
    )
    assert starts(slots) == [f"01-05 {h:02d}:00" for h in (9, 10, 11, 13, 14, 15, 16, 17)]


def test_sixty_days_of_slots_read_the_bookings_in_one_query(tenant, one_pit):
    for d in (5, 6, 7):
        book(tenant, one_pit, at(date(2027, 1, d), 9))
    BookingSettings.objects.for_tenant(tenant).get()  # loaded; the count below is the computation only
    with CaptureQueriesContext(connection) as queries:
        slots = free_slots(
            tenant=tenant, work_type=one_pit, start=date(2027, 1, 4), end=date(2027, 3, 4), now=NOW
        )
    claim_queries = [q for q in queries.captured_queries if "bookings_slotclaim" in q["sql"]]
    assert len(claim_queries) == 1
    assert len(queries.captured_queries) == 4  # settings, closed days, opening hours, claims
    assert len(slots) > 600
    assert time(9) not in {s.starts_at.time() for s in slots if s.starts_at.date() == date(2027, 1, 5)}
