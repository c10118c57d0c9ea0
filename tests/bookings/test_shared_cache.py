"""With CACHE_URL=redis://… every web process shares the booking form's abuse counters and the slot
cache's versions: what one process counted or invalidated holds in the next (a fresh connection
here, which sees only what is in Redis)."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bookings import slot_cache
from bookings.models import Booking, SlotClaim
from bookings.public_views import NEW_CUSTOMER_PER_IP_PER_HOUR
from bookings.tokens import shop_token
from crm.api.keys import api_key_create
from tests.bookings.conftest import at, next_open_day
from tests.bookings.test_slot_cache import ALL_STARTS, WITHOUT_TEN, book, reads_claims, starts

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


def another_process():
    """Drop this process's cache connection: what is read next comes from Redis alone."""
    del caches["default"]
    slot_cache._LOCAL.clear()


@pytest.fixture
def day():
    return next_open_day(timezone.localdate())


def test_the_booking_forms_limit_is_counted_in_redis(redis_cache, tenant, capacity, day):
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
    times = ["09:00", "09:30", "10:00", "10:30", "11:00"]
    assert len(times) == NEW_CUSTOMER_PER_IP_PER_HOUR
    for i, hhmm in enumerate(times):
        if i == 2:
            another_process()  # the count goes on where the other process left it
        response = Client().post(url, {**data, "email": f"k{i}@example.jp", "slot": f"{day}T{hhmm}"})
        assert response.status_code == 302
    stored = sorted(k.decode() for k in redis_cache.client.scan_iter(f"{redis_cache.prefix}:*bookings:new:*"))
    assert len(stored) == 2  # per address and per shop, in Redis
    another_process()

    over = Client().post(url, {**data, "email": "k9@example.jp", "slot": f"{day}T15:00"})

    assert over.status_code == 429
    assert Booking.objects.for_tenant(tenant).count() == NEW_CUSTOMER_PER_IP_PER_HOUR


def test_a_claim_in_one_process_drops_the_slot_answers_of_every_process(
    redis_cache, tenant, owner, one_pit, day, django_capture_on_commit_callbacks
):
    _key, raw = api_key_create(tenant=tenant, name="Website", scope="read", created_by=owner)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert starts(api, one_pit, day) == ALL_STARTS
    with CaptureQueriesContext(connection) as cached:
        assert starts(api, one_pit, day) == ALL_STARTS
    assert not reads_claims(cached)

    with django_capture_on_commit_callbacks(execute=True):
        book(tenant, one_pit, at(day, 10))  # "another process": its bump goes to Redis
    another_process()

    with CaptureQueriesContext(connection) as fresh:
        assert starts(api, one_pit, day) == WITHOUT_TEN
    assert reads_claims(fresh)
    assert SlotClaim.objects.for_tenant(tenant).count() == 4  # 10:00–11:00 in 15-minute cells


def test_a_version_bumped_through_another_connection_reaches_this_process(
    redis_cache, tenant, owner, one_pit, day
):
    _key, raw = api_key_create(tenant=tenant, name="Website", scope="read", created_by=owner)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    starts(api, one_pit, day)  # cached here, also in this process's memory
    book(tenant, one_pit, at(day, 10))  # its own bump waits for a commit that never comes in a test
    other = caches.create_connection("default")  # another web process's client
    other.set(f"bookings:slots-version:{tenant.pk}", 1, timeout=None)

    assert starts(api, one_pit, day) == WITHOUT_TEN
