"""The public booking pages: from a reminder's link, from the shop link, and the booking's own link.
Tampered, expired, other-kind and other-shop tokens are 404 and change nothing; the page never
shows another customer's data."""

from __future__ import annotations

import time as time_module
from datetime import timedelta

import pytest
from django.core import signing
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking, BookingSource, BookingStatus, SlotClaim
from bookings.tokens import manage_token, shop_token
from customers.models import Customer
from reminders.links import booking_token
from tests.bookings.conftest import at, give_capacity, next_open_day
from tests.bookings.helpers import inspection_reminder, reminder_url
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


@pytest.fixture
def day():
    return next_open_day(timezone.localdate())


def slot(day, hh, mm=0) -> str:
    return f"{day.isoformat()}T{hh:02d}:{mm:02d}"


def test_the_reminder_link_shows_the_shop_the_masked_plate_and_free_times_only(client, tenant, capacity, day):
    reminder = inspection_reminder(tenant)
    other = CustomerFactory(tenant=tenant, family_name="秘密", given_name="花子", email="secret@example.jp")
    response = client.get(reminder_url(reminder) + f"?from={day.isoformat()}")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Shop A" in html
    assert "•••• 34" in html and "12-34" not in html
    assert reminder.customer.family_name not in html and reminder.customer.email not in html
    assert other.family_name not in html and other.email not in html
    assert f'value="{slot(day, 9)}"' in html  # 車検 (the reminder's occasion) preselected
    assert 'name="work"' in html and f'value="{capacity["shaken"].pk}" selected' in html
    assert "default-src 'self'" in response["Content-Security-Policy"]


def test_booking_from_the_reminder_link(client, tenant, capacity, day):
    reminder = inspection_reminder(tenant)
    url = reminder_url(reminder)
    response = client.post(
        url, {"work": capacity["shaken"].pk, "slot": slot(day, 9), "customer_note": "代車希望"}
    )
    assert response.status_code == 302
    booking = Booking.objects.for_tenant(tenant).get()
    assert (booking.customer, booking.vehicle, booking.work_type) == (
        reminder.customer,
        reminder.vehicle,
        capacity["shaken"],
    )
    assert (booking.source, booking.status, booking.reminder, booking.customer_note) == (
        BookingSource.REMINDER,
        BookingStatus.REQUESTED,
        reminder,
        "代車希望",
    )
    assert response["Location"].startswith("/b/m/")
    confirmation = client.get(response["Location"])
    assert confirmation.status_code == 200
    assert (
        "Thank you, your booking is in" in confirmation.content.decode()
        or "ご予約" in confirmation.content.decode()
    )
    # The same link again shows the booking instead of booking twice.
    again = client.get(url)
    assert again.status_code == 302 and again["Location"].startswith("/b/m/")


def test_a_taken_time_answers_just_taken_and_books_nothing(client, tenant, one_pit, day):
    first = inspection_reminder(tenant)
    second = inspection_reminder(tenant)
    assert client.post(reminder_url(first), {"work": one_pit.pk, "slot": slot(day, 10)}).status_code == 302
    response = client.post(reminder_url(second), {"work": one_pit.pk, "slot": slot(day, 10)})
    assert response.status_code == 409
    assert "just taken" in response.content.decode() or "埋まりました" in response.content.decode()
    assert Booking.objects.for_tenant(tenant).count() == 1


@pytest.mark.parametrize("kind", ["tampered", "expired", "other_kind", "other_shop_row", "garbage"])
def test_bad_reminder_tokens_are_404_and_change_nothing(client, tenant, other_tenant, capacity, day, kind):
    reminder = inspection_reminder(tenant)
    foreign = inspection_reminder(other_tenant)
    token = booking_token(tenant_id=tenant.pk, reminder_id=reminder.pk)
    if kind == "tampered":
        token = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    elif kind == "expired":
        past = time_module.time() - 181 * 24 * 3600
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(signing.time, "time", lambda: past)
            token = booking_token(tenant_id=tenant.pk, reminder_id=reminder.pk)
    elif kind == "other_kind":
        token = shop_token(tenant_id=tenant.pk)
    elif kind == "other_shop_row":
        token = booking_token(tenant_id=tenant.pk, reminder_id=foreign.pk)  # shop A's key, shop B's row
    else:
        token = "not-a-token"
    url = reverse("bookings_public:from_reminder", kwargs={"token": token})
    assert client.get(url).status_code == 404
    assert client.post(url, {"work": capacity["shaken"].pk, "slot": slot(day, 9)}).status_code == 404
    assert Booking.objects.unscoped().count() == 0
    assert SlotClaim.objects.unscoped().count() == 0


def test_the_shop_link_books_a_new_customer(client, tenant, capacity, day):
    url = reverse("bookings_public:shop", kwargs={"token": shop_token(tenant_id=tenant.pk)})
    page = client.get(url + f"?work={capacity['oil_change'].pk}&from={day.isoformat()}")
    assert page.status_code == 200 and f'value="{slot(day, 9)}"' in page.content.decode()
    data = {
        "work": capacity["oil_change"].pk,
        "slot": slot(day, 9),
        "family_name": "佐々木",
        "given_name": "健",
        "family_name_kana": "ササキ",
        "given_name_kana": "ケン",
        "phone": "090-1111-2222",
        "email": "",
        "line_id": "ken-sasaki",
        "plate_number": "練馬 500 あ 98-76",
        "maker": "ホンダ",
        "model_name": "N-BOX",
    }
    response = client.post(url, data)
    assert response.status_code == 302
    booking = Booking.objects.for_tenant(tenant).select_related("customer", "vehicle").get()
    assert booking.customer.full_name == "佐々木 健" and booking.line_id == "ken-sasaki"
    assert booking.vehicle.plate_number == "練馬 500 あ 98-76"
    assert booking.source == BookingSource.ONLINE and booking.status == BookingStatus.REQUESTED


def test_the_shop_link_needs_a_way_to_reach_the_customer_and_bounds_abuse(client, tenant, capacity, day):
    url = reverse("bookings_public:shop", kwargs={"token": shop_token(tenant_id=tenant.pk)})
    data = {
        "work": capacity["oil_change"].pk,
        "family_name": "佐々木",
        "given_name": "健",
        "family_name_kana": "ササキ",
        "given_name_kana": "ケン",
        "phone": "090-1111-2222",
        "plate_number": "練馬 500 あ 98-76",
    }
    assert client.post(url, {**data, "slot": slot(day, 9)}).status_code == 200  # no e-mail, no LINE
    assert Customer.objects.for_tenant(tenant).count() == 0
    honeypot = client.post(url, {**data, "email": "a@example.jp", "slot": slot(day, 9), "website": "x"})
    assert honeypot.status_code == 429
    for i, (hh, mm) in enumerate([(9, 0), (9, 30), (10, 0), (10, 30), (11, 0)]):
        response = client.post(url, {**data, "email": f"k{i}@example.jp", "slot": slot(day, hh, mm)})
        assert response.status_code == 302
    over = client.post(url, {**data, "email": "k9@example.jp", "slot": slot(day, 15)})
    assert over.status_code == 429
    assert Booking.objects.for_tenant(tenant).count() == 5


def test_the_shop_link_of_a_tampered_token_is_404(client, tenant, capacity):
    token = shop_token(tenant_id=tenant.pk)
    assert client.get(reverse("bookings_public:shop", kwargs={"token": token + "x"})).status_code == 404
    forged = signing.dumps(["s", tenant.pk], salt="another.salt")
    assert client.get(reverse("bookings_public:shop", kwargs={"token": forged})).status_code == 404


def test_the_booking_link_cancels_and_moves(client, tenant, capacity, day):
    reminder = inspection_reminder(tenant)
    client.post(reminder_url(reminder), {"work": capacity["shaken"].pk, "slot": slot(day, 9)})
    booking = Booking.objects.for_tenant(tenant).get()
    url = reverse(
        "bookings_public:manage", kwargs={"token": manage_token(tenant_id=tenant.pk, booking_id=booking.pk)}
    )
    moving = client.get(url + f"?move=1&from={day.isoformat()}")
    assert moving.status_code == 200 and f'value="{slot(day, 13)}"' in moving.content.decode()
    assert client.post(url, {"action": "move", "slot": slot(day, 13)}).status_code == 302
    booking.refresh_from_db()
    assert booking.starts_at == at(day, 13)
    assert client.post(url, {"action": "cancel"}).status_code == 302
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    assert not SlotClaim.objects.for_tenant(tenant).exists()
    # Cancel and rebook: the reminder link books again.
    assert (
        client.post(reminder_url(reminder), {"work": capacity["shaken"].pk, "slot": slot(day, 9)}).status_code
        == 302
    )
    assert Booking.objects.for_tenant(tenant).filter(status=BookingStatus.REQUESTED).count() == 1


@pytest.mark.parametrize("kind", ["tampered", "expired", "other_shop_row"])
def test_bad_booking_links_are_404_and_change_nothing(client, tenant, other_tenant, capacity, day, kind):
    reminder = inspection_reminder(other_tenant)
    other_capacity = give_capacity(other_tenant)
    client.post(reminder_url(reminder), {"work": other_capacity["shaken"].pk, "slot": slot(day, 9)})
    booking = Booking.objects.for_tenant(other_tenant).get()
    if kind == "tampered":
        token = manage_token(tenant_id=other_tenant.pk, booking_id=booking.pk)[:-3] + "abc"
    elif kind == "expired":
        past = time_module.time() - 401 * 24 * 3600
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(signing.time, "time", lambda: past)
            token = manage_token(tenant_id=other_tenant.pk, booking_id=booking.pk)
    else:
        token = manage_token(tenant_id=tenant.pk, booking_id=booking.pk)  # shop A naming shop B's booking
    url = reverse("bookings_public:manage", kwargs={"token": token})
    assert client.get(url).status_code == 404
    assert client.post(url, {"action": "cancel"}).status_code == 404
    booking.refresh_from_db()
    assert booking.status == BookingStatus.REQUESTED


def test_a_logged_in_member_of_another_shop_gets_nothing_more(other_client, tenant, capacity, day):
    reminder = inspection_reminder(tenant)
    html = other_client.get(reminder_url(reminder) + f"?from={day.isoformat()}").content.decode()
    assert reminder.customer.family_name + " " + reminder.customer.given_name not in html
    assert (day + timedelta(days=0)).isoformat() in html
