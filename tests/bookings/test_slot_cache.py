"""The slot cache (bookings/slot_cache.py): answers are kept until a claim, a release or a capacity
change commits; a stale week can only offer a time that then fails cleanly; one shop's cached
answers never reach another shop's page; the cached page holds no customer's data."""

from __future__ import annotations

from datetime import time

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bookings import services, slot_cache
from bookings.models import Booking, BookingSource, SlotClaim
from crm.api.keys import api_key_create
from tests.bookings.conftest import at, give_capacity, next_open_day
from tests.bookings.helpers import inspection_reminder, reminder_url
from tests.factories import CustomerFactory, VehicleFactory

pytestmark = pytest.mark.django_db

# The one-pit work type (60 minutes) on the default hours, 30-minute grid: 9:00–11:00 and 13:00–17:00.
ALL_STARTS = ["09:00", "09:30", "10:00", "10:30", "11:00"] + [
    f"{h:02d}:{m:02d}" for h in range(13, 18) for m in (0, 30) if (h, m) <= (17, 0)
]
WITHOUT_TEN = [s for s in ALL_STARTS if s not in ("09:30", "10:00", "10:30")]  # 10:00–11:00 taken


@pytest.fixture
def day():
    return next_open_day(timezone.localdate())


@pytest.fixture
def api(tenant, owner):
    _key, raw = api_key_create(tenant=tenant, name="Website", scope="read", created_by=owner)
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def starts(api, work_type, day) -> list[str]:
    response = api.get(f"/api/v1/booking-slots/?work_type={work_type.pk}&date_from={day}&date_to={day}")
    assert response.status_code == 200
    return [s["starts_at"][11:16] for s in response.json()]


def reads_claims(queries) -> bool:
    return any(SlotClaim._meta.db_table in q["sql"] for q in queries.captured_queries)


def book(tenant, work_type, starts_at, **kwargs) -> Booking:
    customer = CustomerFactory(tenant=tenant)
    return services.booking_create(
        tenant=tenant,
        customer=customer,
        vehicle=VehicleFactory(customer=customer),
        work_type=work_type,
        starts_at=starts_at,
        source=BookingSource.PHONE,
        notify=False,
        **kwargs,
    )


def test_the_answer_is_kept_until_a_booking_commits_then_computed_again(
    api, tenant, one_pit, day, django_capture_on_commit_callbacks
):
    assert starts(api, one_pit, day) == ALL_STARTS
    with CaptureQueriesContext(connection) as cached:
        assert starts(api, one_pit, day) == ALL_STARTS
    assert not reads_claims(cached)  # answered from the cache

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        booking = book(tenant, one_pit, at(day, 10))
    assert len(callbacks) == 1  # the version bump waits for the commit

    with CaptureQueriesContext(connection) as fresh:
        assert starts(api, one_pit, day) == WITHOUT_TEN
    assert reads_claims(fresh)

    with django_capture_on_commit_callbacks(execute=True):
        services.booking_cancel(tenant=tenant, booking=booking)
    assert starts(api, one_pit, day) == ALL_STARTS


def test_a_booking_that_rolls_back_keeps_the_cached_answer(
    api, tenant, one_pit, day, django_capture_on_commit_callbacks
):
    starts(api, one_pit, day)
    version = slot_cache.for_shop(tenant).version
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        book(tenant, one_pit, at(day, 10))
        raise RuntimeError("rolled back")
    assert callbacks == []  # the bump went with the rolled-back transaction
    assert slot_cache.for_shop(tenant).version == version
    assert starts(api, one_pit, day) == ALL_STARTS
    assert SlotClaim.objects.for_tenant(tenant).count() == 0


def test_capacity_changes_drop_the_cached_answer(
    api, tenant, one_pit, day, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        book(tenant, one_pit, at(day, 10))
    assert starts(api, one_pit, day) == WITHOUT_TEN

    with django_capture_on_commit_callbacks(execute=True):
        services.work_type_save(tenant=tenant, work_type=one_pit, data={"capacity": 2})
    assert starts(api, one_pit, day) == ALL_STARTS  # a second pit: 10:00 is free again

    with django_capture_on_commit_callbacks(execute=True):
        services.opening_hours_replace(tenant=tenant, intervals=[(day.weekday(), time(9), time(11))])
    assert starts(api, one_pit, day) == ["09:00", "09:30", "10:00"]

    with django_capture_on_commit_callbacks(execute=True):
        closed = services.closed_day_add(tenant=tenant, day=day, note="棚卸し")
    assert starts(api, one_pit, day) == []

    with django_capture_on_commit_callbacks(execute=True):
        services.closed_day_delete(tenant=tenant, closed_day=closed)
    assert starts(api, one_pit, day) == ["09:00", "09:30", "10:00"]

    with django_capture_on_commit_callbacks(execute=True):
        services.booking_settings_update(tenant=tenant, data={"slot_minutes": 60})
    assert starts(api, one_pit, day) == ["09:00", "10:00"]


def test_a_work_type_made_offline_leaves_the_public_page_once_saved(
    client, tenant, one_pit, day, django_capture_on_commit_callbacks
):
    url = reminder_url(inspection_reminder(tenant)) + f"?from={day.isoformat()}"
    option = f'<option value="{one_pit.pk}"'
    assert option in client.get(url).content.decode()
    assert option in client.get(url).content.decode()  # from the cached catalogue
    with django_capture_on_commit_callbacks(execute=True):
        services.work_type_save(tenant=tenant, work_type=one_pit, data={"bookable_online": False})
    assert option not in client.get(url).content.decode()


def test_a_stale_cached_week_offers_a_taken_time_and_booking_it_fails_cleanly(client, tenant, one_pit, day):
    """Another process took 10:00 and its bump never reached this one (a per-process cache): the
    cached week still offers 10:00, and the claim refuses it with "just taken", books nothing, and
    the page it answers with is computed afresh."""
    reminder = inspection_reminder(tenant)
    url = reminder_url(reminder)
    week = f"?from={day.isoformat()}&work={one_pit.pk}"
    ten = f'value="{day.isoformat()}T10:00"'
    assert ten in client.get(url + week).content.decode()

    book(tenant, one_pit, at(day, 10))  # committed in the test's transaction; its bump never runs
    assert ten in client.get(url + week).content.decode()  # stale, from the cache

    response = client.post(url + f"?from={day.isoformat()}", {"work": one_pit.pk, "slot": f"{day}T10:00"})

    assert response.status_code == 409
    html = response.content.decode()
    assert "This time was just taken. Please pick another one." in html or "埋まりました" in html
    assert not Booking.objects.for_tenant(tenant).filter(customer=reminder.customer).exists()
    assert Booking.objects.for_tenant(tenant).count() == 1
    assert ten not in html and f'value="{day.isoformat()}T11:00"' in html  # the week shown is fresh
    assert ten not in client.get(url + week).content.decode()


def test_one_shops_cached_week_never_reaches_another_shops_page(client, tenant, other_tenant, capacity, day):
    give_capacity(other_tenant)
    services.closed_day_add(tenant=other_tenant, day=day, note="臨時休業")
    mine = reminder_url(inspection_reminder(tenant)) + f"?from={day.isoformat()}"
    theirs = reminder_url(inspection_reminder(other_tenant)) + f"?from={day.isoformat()}"
    nine = f'value="{day.isoformat()}T09:00"'
    for _ in range(2):  # computed, then cached
        html_mine = client.get(mine).content.decode()
        html_theirs = client.get(theirs).content.decode()
        assert nine in html_mine and "臨時休業" not in html_mine and "Shop B" not in html_mine
        assert nine not in html_theirs and "臨時休業" in html_theirs and "Shop A" not in html_theirs


def test_the_cached_page_shows_no_customers_data(client, tenant, one_pit, day):
    reminder = inspection_reminder(tenant)
    other = CustomerFactory(
        tenant=tenant, family_name="秘密", given_name="花子", email="hanako@example.jp", phone="090-9876-5432"
    )
    services.booking_create(
        tenant=tenant,
        customer=other,
        vehicle=VehicleFactory(customer=other, plate_number="横浜 300 ね 98-76"),
        work_type=one_pit,
        starts_at=at(day, 13),
        source=BookingSource.PHONE,
        customer_note="鍵は受付に",
        notify=False,
    )
    url = reminder_url(reminder) + f"?from={day.isoformat()}&work={one_pit.pk}"
    for _ in range(2):  # computed, then from the cache
        html = client.get(url).content.decode()
        for secret in ("秘密", "花子", "hanako@example.jp", "090-9876-5432", "98-76", "鍵は受付に"):
            assert secret not in html
        assert reminder.customer.family_name not in html and reminder.customer.email not in html
        assert f'value="{day.isoformat()}T13:00"' not in html  # their time is simply not offered
