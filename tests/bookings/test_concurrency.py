"""Twenty customers press "book" for the last free slot at the same moment (PostgreSQL, real
transactions, one connection per thread): exactly one booking, nineteen "just taken"."""

from __future__ import annotations

import threading

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.utils import timezone

from bookings.models import Booking, SlotClaim
from tests.bookings.conftest import give_capacity, next_open_day
from tests.bookings.helpers import inspection_reminder, reminder_url
from tests.factories import TenantFactory, WorkTypeFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

RACERS = 20


def test_twenty_parallel_requests_for_one_free_slot_make_exactly_one_booking():
    cache.clear()
    tenant = TenantFactory(slug="race-shop", name="Race Shop")
    give_capacity(tenant)
    one_pit = WorkTypeFactory(tenant=tenant, code="race", duration_minutes=60, capacity=1)
    day = next_open_day(timezone.localdate())
    urls = [reminder_url(inspection_reminder(tenant)) for _ in range(RACERS)]
    data = {"work": one_pit.pk, "slot": f"{day.isoformat()}T10:00"}
    start = threading.Barrier(RACERS)
    statuses: list[int] = []
    bodies: list[str] = []
    lock = threading.Lock()

    def race(url):
        try:
            client = Client()
            start.wait(timeout=30)
            response = client.post(url, data)
            with lock:
                statuses.append(response.status_code)
                bodies.append(response.content.decode())
        finally:
            connection.close()

    threads = [threading.Thread(target=race, args=(url,)) for url in urls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(statuses) == [302] + [409] * (RACERS - 1)
    taken = [b for b, s in zip(bodies, statuses, strict=True) if s == 409]
    assert all('id="booking-error"' in b for b in taken)
    assert Booking.objects.for_tenant(tenant).count() == 1
    assert SlotClaim.objects.for_tenant(tenant).filter(work_type=one_pit).count() == 4  # 60 min = 4 cells
