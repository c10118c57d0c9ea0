"""Staff pages: calendar (day/week), actions (htmx and plain), move, done → service record, booking by
phone, capacity settings. Every page and action: another shop's user gets 404 and nothing changes."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from bookings import services
from bookings.models import Booking, BookingSource, BookingStatus, ClosedDay, WorkType
from customers.models import ServiceRecord
from tests.bookings.conftest import at, give_capacity, next_open_day
from tests.bookings.helpers import booking_at
from tests.factories import CustomerFactory, VehicleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def day():
    return next_open_day(timezone.localdate())


@pytest.fixture
def booking(tenant, capacity, day):
    customer = CustomerFactory(tenant=tenant, family_name="予約", given_name="太郎")
    return services.booking_create(
        tenant=tenant,
        customer=customer,
        vehicle=VehicleFactory(customer=customer, mileage=30_000),
        work_type=capacity["shaken"],
        starts_at=at(day, 9),
        source=BookingSource.ONLINE,
    )


def test_the_day_and_week_views_show_the_booking_in_its_work_types_column(staff_client, booking, day):
    day_view = staff_client.get(reverse("bookings:calendar") + f"?date={day.isoformat()}&view=day")
    assert day_view.status_code == 200
    html = day_view.content.decode()
    assert "予約 太郎" in html and f'id="booking-{booking.pk}"' in html
    assert html.index("車検") < html.index("オイル交換")
    week_view = staff_client.get(reverse("bookings:calendar") + f"?date={day.isoformat()}&view=week")
    assert week_view.status_code == 200
    html = week_view.content.decode()
    # One line per booking in the week, linking to its card in the day view.
    assert "09:00 予約" in html and f"view=day#booking-{booking.pk}" in html


def test_confirm_with_htmx_returns_the_updated_card(staff_client, booking):
    response = staff_client.post(
        reverse("bookings:action", args=[booking.pk, "confirm"]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert 'data-status="confirmed"' in response.content.decode()
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED and booking.confirmed_at is not None


def test_actions_without_javascript_redirect_back_to_the_calendar(staff_client, booking, day):
    response = staff_client.post(reverse("bookings:action", args=[booking.pk, "arrived"]))
    assert response.status_code == 302 and f"date={day.isoformat()}" in response["Location"]
    booking.refresh_from_db()
    assert booking.status == BookingStatus.ARRIVED
    again = staff_client.post(reverse("bookings:action", args=[booking.pk, "cancel"]), follow=True)
    booking.refresh_from_db()
    assert booking.status == BookingStatus.ARRIVED  # an arrived booking is not cancelled
    assert again.status_code == 200


def test_done_creates_the_service_record_prefilled_from_the_booking(staff_client, tenant, booking, day):
    form = staff_client.get(reverse("bookings:done", args=[booking.pk]))
    assert form.status_code == 200 and 'value="30000"' in form.content.decode()
    response = staff_client.post(
        reverse("bookings:done", args=[booking.pk]), {"mileage": "31500", "amount": "88000"}
    )
    assert response.status_code == 302
    record = ServiceRecord.objects.for_tenant(tenant).get()
    assert (record.kind, record.date, record.mileage, record.amount, record.vehicle_id) == (
        "shaken",
        day,
        31_500,
        88_000,
        booking.vehicle_id,
    )
    booking.refresh_from_db()
    assert booking.status == BookingStatus.DONE and booking.service_record == record


def test_staff_move_a_booking(staff_client, booking, day):
    page = staff_client.get(reverse("bookings:move", args=[booking.pk]) + f"?from={day.isoformat()}")
    assert page.status_code == 200
    response = staff_client.post(
        reverse("bookings:move", args=[booking.pk]), {"slot": f"{day.isoformat()}T14:00"}
    )
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.starts_at == at(day, 14)


def test_booking_by_phone_from_the_customer_in_two_clicks(staff_client, tenant, capacity, day):
    customer = CustomerFactory(tenant=tenant)
    vehicle = VehicleFactory(customer=customer)
    page = staff_client.get(reverse("bookings:new") + f"?customer={customer.pk}&from={day.isoformat()}")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'name="slot" value="{day.isoformat()}T09:00"' in html
    response = staff_client.post(
        reverse("bookings:new"),
        {
            "customer": customer.pk,
            "work": capacity["shaken"].pk,
            "vehicle": vehicle.pk,
            "slot": f"{day.isoformat()}T09:00",
        },
    )
    assert response.status_code == 302
    booking = Booking.objects.for_tenant(tenant).get()
    assert (booking.customer, booking.vehicle, booking.status, booking.source) == (
        customer,
        vehicle,
        BookingStatus.CONFIRMED,
        BookingSource.PHONE,
    )


def test_viewers_see_the_calendar_but_cannot_act(viewer_client, booking):
    assert viewer_client.get(reverse("bookings:calendar")).status_code == 200
    assert viewer_client.post(reverse("bookings:action", args=[booking.pk, "confirm"])).status_code == 403
    booking.refresh_from_db()
    assert booking.status == BookingStatus.REQUESTED


def test_managers_set_the_capacity(manager_client, tenant, day):
    assert manager_client.post(reverse("bookings:capacity"), {"form": "defaults"}).status_code == 302
    assert WorkType.objects.for_tenant(tenant).count() == 5
    page = manager_client.get(reverse("bookings:capacity"))
    assert page.status_code == 200 and "/b/s/" in page.content.decode()
    manager_client.post(
        reverse("bookings:capacity"), {"form": "closed", "date": "2027-08-13", "note": "お盆"}
    )
    assert ClosedDay.objects.for_tenant(tenant).get().note == "お盆"
    hours = {f"day_{d}": "10:00-17:00" for d in range(5)}
    assert manager_client.post(reverse("bookings:capacity"), {"form": "hours", **hours}).status_code == 302
    shaken = WorkType.objects.for_tenant(tenant).get(code="shaken")
    saved = manager_client.post(
        reverse("bookings:capacity"),
        {
            "form": "work_type",
            "work_type": shaken.pk,
            f"w{shaken.pk}-name": "車検",
            f"w{shaken.pk}-code": "shaken",
            f"w{shaken.pk}-service_kind": "shaken",
            f"w{shaken.pk}-duration_minutes": "180",
            f"w{shaken.pk}-capacity": "3",
            f"w{shaken.pk}-bookable_online": "on",
            f"w{shaken.pk}-is_active": "on",
            f"w{shaken.pk}-position": "0",
        },
    )
    assert saved.status_code == 302, [str(m) for m in saved.context["messages"]]
    shaken.refresh_from_db()
    assert (shaken.duration_minutes, shaken.capacity) == (180, 3)


def test_staff_cannot_change_the_capacity(staff_client, tenant):
    assert staff_client.get(reverse("bookings:capacity")).status_code == 403
    assert staff_client.post(reverse("bookings:capacity"), {"form": "defaults"}).status_code == 403
    assert WorkType.objects.for_tenant(tenant).count() == 0


def test_another_shops_user_gets_404_everywhere_and_nothing_changes(other_client, tenant, booking, day):
    customer = booking.customer
    for url in (
        reverse("bookings:move", args=[booking.pk]),
        reverse("bookings:done", args=[booking.pk]),
        reverse("bookings:new") + f"?customer={customer.pk}",
    ):
        assert other_client.get(url).status_code == 404, url
    for action in ("confirm", "arrived", "no_show", "cancel"):
        assert other_client.post(reverse("bookings:action", args=[booking.pk, action])).status_code == 404
    assert other_client.post(reverse("bookings:done", args=[booking.pk]), {"amount": "1"}).status_code == 404
    assert (
        other_client.post(
            reverse("bookings:move", args=[booking.pk]), {"slot": f"{day.isoformat()}T14:00"}
        ).status_code
        == 404
    )
    assert (
        other_client.post(
            reverse("bookings:new"), {"customer": customer.pk, "slot": f"{day.isoformat()}T14:00"}
        ).status_code
        == 404
    )
    calendar = other_client.get(reverse("bookings:calendar") + f"?date={day.isoformat()}").content.decode()
    assert "予約 太郎" not in calendar
    booking.refresh_from_db()
    assert (booking.status, booking.starts_at) == (BookingStatus.REQUESTED, at(day, 9))
    assert Booking.objects.for_tenant(tenant).count() == 1
    assert ServiceRecord.objects.for_tenant(tenant).count() == 0


def test_a_closed_day_id_of_another_shop_is_404(other_client, tenant, other_owner):
    closed = services.closed_day_add(tenant=tenant, day=date(2027, 8, 13))
    response = other_client.post(reverse("bookings:capacity"), {"form": "closed_delete", "pk": closed.pk})
    assert response.status_code == 404
    assert ClosedDay.objects.for_tenant(tenant).count() == 1


def test_today_lists_todays_and_tomorrows_bookings_and_the_requests(
    staff_client, tenant, other_tenant, capacity
):
    today = timezone.localdate()
    customer = CustomerFactory(tenant=tenant, family_name="今日", given_name="来店")
    vehicle = VehicleFactory(customer=customer)
    # Created directly: today's slots may lie in the past or on a closed day when the test runs.
    booking_at(
        tenant, customer, vehicle, capacity["oil_change"], at(today, 10), status=BookingStatus.CONFIRMED
    )
    booking_at(
        tenant,
        customer,
        vehicle,
        capacity["shaken"],
        at(today + timedelta(days=1), 9),
        status=BookingStatus.REQUESTED,
    )
    booking_at(
        tenant, customer, vehicle, capacity["shaken"], at(today + timedelta(days=5), 9), status="confirmed"
    )
    stranger = CustomerFactory(tenant=other_tenant, family_name="他店", given_name="客")
    other = give_capacity(other_tenant)
    booking_at(other_tenant, stranger, None, other["shaken"], at(today, 10), status=BookingStatus.REQUESTED)
    response = staff_client.get(reverse("today"))
    assert response.status_code == 200
    assert len(response.context["bookings"]) == 2
    assert [b.status for b in response.context["booking_requests"]] == [BookingStatus.REQUESTED]
    html = response.content.decode()
    assert "今日 来店" in html and "他店" not in html


def test_the_customer_360_books_in_two_clicks(staff_client, tenant, capacity, day):
    customer = CustomerFactory(tenant=tenant)
    VehicleFactory(customer=customer)
    page = staff_client.get(reverse("customers:detail", args=[customer.pk]))
    html = page.content.decode()
    link = reverse("bookings:new") + f"?customer={customer.pk}"
    assert f'href="{link}"' in html  # click 1
    slots = staff_client.get(link + f"&from={day.isoformat()}").content.decode()
    assert f'name="slot" value="{day.isoformat()}T09:00"' in slots  # click 2 posts one of these
    page = staff_client.get(reverse("customers:detail", args=[customer.pk]))
    assert (
        "No upcoming bookings." in page.content.decode() or "今後の予約はありません" in page.content.decode()
    )
