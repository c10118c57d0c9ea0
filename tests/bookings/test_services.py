"""Booking use-cases: the seat guard, moving, cancelling and rebooking, the day's states, and the
booking becoming the service record."""

from __future__ import annotations

from datetime import date
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from bookings import services
from bookings.models import Booking, BookingSource, BookingStatus, SlotClaim
from customers.models import ServiceKind, ServiceRecord
from customers.privacy import customer_erase, customer_export_personal_data
from tests.bookings.conftest import at
from tests.factories import CustomerFactory, VehicleFactory

pytestmark = pytest.mark.django_db

NOW = at(date(2027, 1, 4), 8)
DAY = date(2027, 1, 5)


def book(tenant, work_type, when, *, source=BookingSource.PHONE, customer=None, vehicle=None):
    customer = customer or CustomerFactory(tenant=tenant)
    vehicle = vehicle or VehicleFactory(customer=customer)
    return services.booking_create(
        tenant=tenant,
        customer=customer,
        vehicle=vehicle,
        work_type=work_type,
        starts_at=when,
        source=source,
        now=NOW,
    )


def test_a_booking_holds_one_seat_per_quarter_hour(tenant, capacity):
    booking = book(tenant, capacity["shaken"], at(DAY, 9))  # 120 minutes
    claims = SlotClaim.objects.for_tenant(tenant).filter(booking=booking).order_by("starts_at")
    assert [c.starts_at for c in claims] == [at(DAY, 9, m) for m in (0, 15, 30, 45)] + [
        at(DAY, 10, m) for m in (0, 15, 30, 45)
    ]
    assert {c.seat for c in claims} == {1}
    assert booking.status == BookingStatus.CONFIRMED  # by phone: confirmed at once
    assert booking.ends_at == at(DAY, 11)


def test_the_last_seat_goes_to_one_booking_the_next_is_told_it_was_just_taken(tenant, one_pit):
    book(tenant, one_pit, at(DAY, 10))
    with pytest.raises(services.SlotTaken) as exc:
        book(tenant, one_pit, at(DAY, 10, 30))  # overlaps 10:30–11:00
    assert "just taken" in str(exc.value.message)
    assert Booking.objects.for_tenant(tenant).count() == 1


def test_losing_the_insert_race_is_retried_then_reported(tenant, one_pit):
    """A concurrent booking inserted the same seat between our read and our insert."""
    customer = CustomerFactory(tenant=tenant)
    with (
        mock.patch.object(SlotClaim.objects, "bulk_create", side_effect=IntegrityError("unique")) as insert,
        pytest.raises(services.SlotTaken),
    ):
        services.booking_create(
            tenant=tenant,
            customer=customer,
            work_type=one_pit,
            starts_at=at(DAY, 9),
            source="phone",
            now=NOW,
        )
    assert insert.call_count == services.CLAIM_RETRIES


def test_online_bookings_are_requests_and_respect_the_window(tenant, one_pit, customer, vehicle):
    services.booking_settings_update(tenant=tenant, data={"lead_time_hours": 48})
    with pytest.raises(services.SlotNotOffered):
        book(tenant, one_pit, at(DAY, 9), source=BookingSource.ONLINE, customer=customer, vehicle=vehicle)
    booking = book(
        tenant,
        one_pit,
        at(date(2027, 1, 7), 9),
        source=BookingSource.ONLINE,
        customer=customer,
        vehicle=vehicle,
    )
    assert booking.status == BookingStatus.REQUESTED


def test_times_outside_the_opening_hours_are_refused(tenant, one_pit):
    with pytest.raises(services.SlotNotOffered):
        book(tenant, one_pit, at(DAY, 11, 30))  # would run into the lunch break
    with pytest.raises(services.SlotNotOffered):
        book(tenant, one_pit, at(date(2027, 1, 11), 9))  # 成人の日
    with pytest.raises(services.SlotNotOffered):
        book(tenant, one_pit, at(DAY, 9, 10))  # not on the quarter hour
    assert Booking.objects.for_tenant(tenant).count() == 0


def test_cancel_and_rebook_the_same_time(tenant, one_pit, customer, vehicle):
    first = book(tenant, one_pit, at(DAY, 10), customer=customer, vehicle=vehicle)
    services.booking_cancel(tenant=tenant, booking=first, by_customer=True)
    first.refresh_from_db()
    assert first.status == BookingStatus.CANCELLED and first.cancelled_at is not None
    assert not SlotClaim.objects.for_tenant(tenant).filter(booking=first).exists()
    second = book(tenant, one_pit, at(DAY, 10), customer=customer, vehicle=vehicle)
    assert second.status == BookingStatus.CONFIRMED
    with pytest.raises(services.BookingStateError):
        services.booking_cancel(tenant=tenant, booking=first)


def test_moving_frees_the_old_time_and_a_failed_move_changes_nothing(tenant, one_pit):
    moving = book(tenant, one_pit, at(DAY, 9))
    blocker = book(tenant, one_pit, at(DAY, 14))
    services.booking_move(tenant=tenant, booking=moving, starts_at=at(DAY, 9, 30), now=NOW)  # overlaps itself
    moving.refresh_from_db()
    assert moving.starts_at == at(DAY, 9, 30)
    with pytest.raises(services.SlotTaken):
        services.booking_move(tenant=tenant, booking=moving, starts_at=at(DAY, 14), now=NOW)
    moving.refresh_from_db()
    assert moving.starts_at == at(DAY, 9, 30)
    assert SlotClaim.objects.for_tenant(tenant).filter(booking=moving).count() == 4
    assert SlotClaim.objects.for_tenant(tenant).filter(booking=blocker).count() == 4
    with pytest.raises(services.SlotTaken):
        book(tenant, one_pit, at(DAY, 10))


def test_a_customer_moving_their_booking_makes_it_a_request_again(tenant, one_pit):
    booking = book(tenant, one_pit, at(DAY, 9))
    services.booking_move(
        tenant=tenant, booking=booking, starts_at=at(date(2027, 1, 6), 9), by_customer=True, now=NOW
    )
    booking.refresh_from_db()
    assert booking.status == BookingStatus.REQUESTED and booking.confirmed_at is None


def test_the_days_states(tenant, one_pit):
    booking = book(tenant, one_pit, at(DAY, 9), source=BookingSource.ONLINE)
    assert services.booking_confirm(tenant=tenant, booking=booking).status == BookingStatus.CONFIRMED
    with pytest.raises(services.BookingStateError):
        services.booking_confirm(tenant=tenant, booking=booking)
    assert services.booking_mark_arrived(tenant=tenant, booking=booking).status == BookingStatus.ARRIVED
    no_show = book(tenant, one_pit, at(DAY, 13))
    assert services.booking_mark_no_show(tenant=tenant, booking=no_show).status == BookingStatus.NO_SHOW
    assert not SlotClaim.objects.for_tenant(tenant).filter(booking=no_show).exists()  # walk-ins welcome


def test_completing_a_booking_creates_the_service_record(tenant, capacity, customer, vehicle):
    expiry = vehicle.inspection_expiry
    booking = book(tenant, capacity["shaken"], at(DAY, 9), customer=customer, vehicle=vehicle)
    done = services.booking_complete(tenant=tenant, booking=booking, mileage=42_000, amount=98_000)
    record = ServiceRecord.objects.for_tenant(tenant).get()
    assert (record.customer, record.vehicle, record.kind, record.date) == (
        customer,
        vehicle,
        ServiceKind.SHAKEN,
        DAY,
    )
    assert (record.mileage, record.amount) == (42_000, 98_000)
    assert done.status == BookingStatus.DONE and done.service_record == record
    vehicle.refresh_from_db()
    assert vehicle.mileage == 42_000
    assert vehicle.inspection_expiry == expiry.replace(year=expiry.year + 2)  # the 車検 moved it on
    with pytest.raises(services.BookingStateError):  # a second click creates nothing
        services.booking_complete(tenant=tenant, booking=booking, mileage=42_000)
    assert ServiceRecord.objects.for_tenant(tenant).count() == 1


def test_completing_needs_the_vehicle(tenant, one_pit, customer):
    booking = services.booking_create(
        tenant=tenant, customer=customer, work_type=one_pit, starts_at=at(DAY, 9), source="phone", now=NOW
    )
    with pytest.raises(ValidationError):
        services.booking_complete(tenant=tenant, booking=booking)
    assert ServiceRecord.objects.for_tenant(tenant).count() == 0


def test_a_booking_cannot_point_at_another_shops_customer(tenant, other_tenant, one_pit):
    stranger = CustomerFactory(tenant=other_tenant)
    with pytest.raises(ValidationError):
        services.booking_create(
            tenant=tenant, customer=stranger, work_type=one_pit, starts_at=at(DAY, 9), source="phone", now=NOW
        )
    assert Booking.objects.for_tenant(tenant).count() == 0


def test_defaults_are_created_once(tenant):
    first = services.booking_defaults_create(tenant=tenant)
    again = services.booking_defaults_create(tenant=tenant)
    assert [w.code for w in first] == ["shaken", "check_12m", "oil_change", "tyre_change", "repair_estimate"]
    assert {w.pk for w in again} == {w.pk for w in first}


def test_the_customers_bookings_are_in_their_disclosure_and_erasure_cancels_the_ones_ahead(
    tenant, one_pit, owner
):
    customer = CustomerFactory(tenant=tenant)
    vehicle = VehicleFactory(customer=customer)
    booking = services.booking_create(
        tenant=tenant,
        customer=customer,
        vehicle=vehicle,
        work_type=one_pit,
        starts_at=at(date(2027, 1, 5), 9),
        source=BookingSource.ONLINE,
        customer_note="代車希望 090-0000-0000",
        line_id="hanako-line",
        now=NOW,
    )
    data = customer_export_personal_data(tenant=tenant, customer=customer)
    assert [b["id"] for b in data["bookings"]] == [booking.pk]
    assert data["bookings"][0]["line_id"] == "hanako-line"
    customer_erase(tenant=tenant, customer=customer, actor=owner)
    booking.refresh_from_db()
    assert (booking.status, booking.customer_note, booking.line_id) == (BookingStatus.CANCELLED, "", "")
    assert not SlotClaim.objects.for_tenant(tenant).filter(booking=booking).exists()
