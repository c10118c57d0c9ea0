"""Pages cost a bounded number of queries: the count must not grow with the rows shown."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from interactions.models import CallTask
from tests.factories import (
    CustomerFactory,
    DealFactory,
    InteractionFactory,
    PurchaseFactory,
    ServiceRecordFactory,
    VehicleFactory,
)

pytestmark = pytest.mark.django_db


def _queries(client, url) -> int:
    client.get(url)  # warm caches (session, content types) so both runs count the same things
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _seed_list(tenant, staff, n):
    today = timezone.localdate()
    for _ in range(n):
        c = CustomerFactory(tenant=tenant, assigned_staff=staff, birthday=today.replace(year=1980))
        VehicleFactory(customer=c, inspection_expiry=today)
        DealFactory(customer=c, owner=staff)
        CallTask.objects.create(tenant=tenant, customer=c, assigned_to=staff, due_date=today, reason="電話")


@pytest.mark.parametrize("name", ["customers:list", "today", "customers:vehicles", "deals"])
def test_list_pages_do_not_grow_with_rows(staff_client, staff, tenant, name):
    _seed_list(tenant, staff, 5)
    few = _queries(staff_client, reverse(name))
    _seed_list(tenant, staff, 45)
    many = _queries(staff_client, reverse(name))
    assert many == few


def _seed_history(customer, vehicle, n):
    for _ in range(n):
        PurchaseFactory(customer=customer)
        ServiceRecordFactory(vehicle=vehicle)
        InteractionFactory(customer=customer)
        DealFactory(customer=customer)


def test_customer_360_does_not_grow_with_timeline(staff_client, tenant):
    customer = CustomerFactory(tenant=tenant)
    vehicle = VehicleFactory(customer=customer)
    url = reverse("customers:detail", args=[customer.pk])
    _seed_history(customer, vehicle, 5)
    few = _queries(staff_client, url)
    _seed_history(customer, vehicle, 45)
    many = _queries(staff_client, url)
    assert many == few
    timeline = staff_client.get(url).context["timeline"]
    assert len(timeline) == 100  # bounded: 200 events exist
    assert [t["when"] for t in timeline] == sorted((t["when"] for t in timeline), reverse=True)
    assert {t["kind"] for t in timeline} <= {"purchase", "service", "interaction", "deal", "reminder"}
