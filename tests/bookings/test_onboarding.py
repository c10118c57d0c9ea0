"""A new shop can take bookings at once: the onboarding registry gives it opening hours, settings and
the five default work types (crm.tenancy.onboarding, registered in BookingsConfig.ready())."""

from __future__ import annotations

from datetime import time

import pytest
from django.urls import reverse
from django.utils import timezone

from bookings import services
from bookings.models import BookingSettings, OpeningHours, WorkType
from bookings.tokens import shop_token
from crm.tenancy.onboarding import tenant_defaults_create
from crm.tenancy.rls import tenant_context
from crm.tenancy.services import tenant_create
from tests.bookings.conftest import next_open_day

pytestmark = pytest.mark.django_db

DEFAULT_WORK_TYPES = [
    # (code, name, minutes, pits)
    ("shaken", "車検", 120, 2),
    ("check_12m", "法定12ヶ月点検", 90, 2),
    ("oil_change", "オイル交換", 30, 2),
    ("tyre_change", "タイヤ交換", 60, 2),
    ("repair_estimate", "修理のお見積り", 30, 1),
]
MON_TO_SAT = [(day, time(9), time(12)) for day in range(6)] + [(day, time(13), time(18)) for day in range(6)]


def capacity_of(tenant):
    work_types = [
        (w.code, w.name, w.duration_minutes, w.capacity)
        for w in WorkType.objects.for_tenant(tenant).order_by("position")
    ]
    hours = sorted(OpeningHours.objects.for_tenant(tenant).values_list("weekday", "opens", "closes"))
    return work_types, hours, BookingSettings.objects.for_tenant(tenant).count()


def test_a_new_shop_gets_the_booking_capacity(client):
    tenant = tenant_create(slug="new-garage", name="新しい整備工場", owner_email="owner@new-garage.test")

    assert capacity_of(tenant) == (DEFAULT_WORK_TYPES, sorted(MON_TO_SAT), 1)
    # and its shop link offers times straight away
    day = next_open_day(timezone.localdate())
    url = reverse("bookings_public:shop", kwargs={"token": shop_token(tenant_id=tenant.pk)})
    work = WorkType.objects.for_tenant(tenant).get(code="oil_change")
    response = client.get(url + f"?work={work.pk}&from={day.isoformat()}")
    assert response.status_code == 200
    assert f'value="{day.isoformat()}T09:00"' in response.content.decode()


def test_onboarding_twice_changes_nothing_and_keeps_the_shops_own_capacity():
    tenant = tenant_create(slug="new-garage", name="新しい整備工場", owner_email="owner@new-garage.test")
    with tenant_context(tenant.pk):
        shaken = WorkType.objects.for_tenant(tenant).get(code="shaken")
        services.work_type_save(tenant=tenant, work_type=shaken, data={"capacity": 4})
        services.opening_hours_replace(tenant=tenant, intervals=[(0, time(8), time(17))])
        pks = set(WorkType.objects.for_tenant(tenant).values_list("pk", flat=True))

        tenant_defaults_create(tenant=tenant)

        work_types, hours, settings_rows = capacity_of(tenant)
    assert set(WorkType.objects.for_tenant(tenant).values_list("pk", flat=True)) == pks
    assert work_types[0] == ("shaken", "車検", 120, 4)
    assert hours == [(0, time(8), time(17))]
    assert settings_rows == 1


def test_a_new_shop_leaves_the_other_shops_capacity_alone(tenant, capacity):
    services.work_type_save(tenant=tenant, work_type=capacity["shaken"], data={"capacity": 3})
    before = capacity_of(tenant)

    other = tenant_create(slug="new-garage", name="新しい整備工場", owner_email="owner@new-garage.test")

    assert capacity_of(tenant) == before
    assert capacity_of(other)[0] == DEFAULT_WORK_TYPES
    assert WorkType.objects.for_tenant(other).filter(pk__in=[w.pk for w in capacity.values()]).count() == 0
