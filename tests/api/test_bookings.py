"""The bookings API: list by date and status, create with an Idempotency-Key, move, cancel, confirm,
complete; free slots; the updated_since feed; another shop's key gets 404 and changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bookings.models import Booking, BookingStatus
from customers.models import ServiceRecord
from tests.bookings.conftest import at, give_capacity, next_open_day
from tests.factories import CustomerFactory, VehicleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def day():
    return next_open_day(timezone.localdate())


@pytest.fixture
def shop(tenant):
    work_types = give_capacity(tenant)
    customer = CustomerFactory(tenant=tenant)
    return {"work": work_types, "customer": customer, "vehicle": VehicleFactory(customer=customer)}


def create(api, shop, when, key="k-1"):
    return api.post(
        "/api/v1/bookings/",
        {
            "customer": shop["customer"].pk,
            "vehicle": shop["vehicle"].pk,
            "work_type": shop["work"]["shaken"].pk,
            "starts_at": when.isoformat(),
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def test_create_is_idempotent_and_a_full_slot_is_a_409(api, tenant, shop, day):
    first = create(api, shop, at(day, 9))
    assert first.status_code == 201, first.json()
    assert first.json()["status"] == BookingStatus.CONFIRMED and first.json()["source"] == "api"
    replay = create(api, shop, at(day, 9))
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == first.json()["id"]
    assert create(api, shop, at(day, 9), key="k-2").status_code == 201  # second pit
    full = create(api, shop, at(day, 9), key="k-3")
    assert full.status_code == 409 and full.json()["detail"]
    assert Booking.objects.for_tenant(tenant).count() == 2


def test_list_filters_by_date_and_updated_since(api, shop, day):
    booking_id = create(api, shop, at(day, 9)).json()["id"]
    listed = api.get(f"/api/v1/bookings/?date_after={day.isoformat()}&date_before={day.isoformat()}")
    assert [b["id"] for b in listed.json()["results"]] == [booking_id]
    assert (
        api.get(f"/api/v1/bookings/?date_after={(day + timedelta(days=1)).isoformat()}").json()["results"]
        == []
    )
    since = (timezone.now() + timedelta(minutes=1)).isoformat()
    assert api.get("/api/v1/bookings/", {"updated_since": since}).json()["results"] == []


def test_move_cancel_confirm_and_complete(api, tenant, shop, day):
    booking_id = create(api, shop, at(day, 9)).json()["id"]
    moved = api.post(
        f"/api/v1/bookings/{booking_id}/move/", {"starts_at": at(day, 13).isoformat()}, format="json"
    )
    assert moved.status_code == 200 and moved.json()["starts_at"].startswith(f"{day.isoformat()}T13:00")
    bad = api.post(
        f"/api/v1/bookings/{booking_id}/move/", {"starts_at": at(day, 12).isoformat()}, format="json"
    )
    assert bad.status_code == 400  # lunch break
    done = api.post(f"/api/v1/bookings/{booking_id}/complete/", {"mileage": 50_000}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "done"
    assert ServiceRecord.objects.for_tenant(tenant).get().mileage == 50_000
    assert api.post(f"/api/v1/bookings/{booking_id}/cancel/", {}, format="json").status_code == 409


def test_free_slots(api, shop, day):
    work = shop["work"]["oil_change"]
    response = api.get(f"/api/v1/booking-slots/?work_type={work.pk}&date_from={day}&date_to={day}")
    assert response.status_code == 200
    slots = response.json()
    assert slots[0]["starts_at"].startswith(f"{day.isoformat()}T09:00") and slots[0]["free"] == 2
    assert len(slots) == 16  # 30 min on a 30-minute grid: 6 before lunch, 10 after
    too_long = api.get(
        f"/api/v1/booking-slots/?work_type={work.pk}&date_from={day}&date_to={day + timedelta(days=90)}"
    )
    assert too_long.status_code == 400
    assert api.get(f"/api/v1/booking-slots/?work_type=abc&date_from={day}&date_to={day}").status_code == 400


def test_read_keys_cannot_book(read_api, tenant, shop, day):
    response = create(read_api, shop, at(day, 9))
    assert response.status_code == 403
    assert Booking.objects.for_tenant(tenant).count() == 0


def test_another_shops_key_gets_404_and_changes_nothing(api, other_api, tenant, shop, day):
    booking_id = create(api, shop, at(day, 9)).json()["id"]
    work = shop["work"]["shaken"]
    assert other_api.get(f"/api/v1/bookings/{booking_id}/").status_code == 404
    assert other_api.get("/api/v1/bookings/").json()["results"] == []
    for action in ("move", "cancel", "confirm", "complete"):
        response = other_api.post(
            f"/api/v1/bookings/{booking_id}/{action}/", {"starts_at": at(day, 13).isoformat()}, format="json"
        )
        assert response.status_code == 404, action
    assert (
        other_api.get(f"/api/v1/booking-slots/?work_type={work.pk}&date_from={day}&date_to={day}").status_code
        == 404
    )
    assert other_api.get(f"/api/v1/work-types/{work.pk}/").status_code == 404
    # Another shop's customer in a booking of its own: a 400, not a booking.
    sneaky = other_api.post(
        "/api/v1/bookings/",
        {"customer": shop["customer"].pk, "work_type": work.pk, "starts_at": at(day, 9).isoformat()},
        format="json",
    )
    assert sneaky.status_code == 400
    booking = Booking.objects.for_tenant(tenant).get()
    assert (booking.status, booking.starts_at) == (BookingStatus.CONFIRMED, at(day, 9))


def test_the_schema_lists_the_booking_resources(client):
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    for path in (
        "/api/v1/bookings/",
        "/api/v1/bookings/{id}/move/",
        "/api/v1/bookings/{id}/cancel/",
        "/api/v1/booking-slots/",
        "/api/v1/work-types/",
    ):
        assert path in paths, path
