"""opportunities_refresh (what the nightly task and the weekly list call): fits weekly, scores every
time, is safe to run twice; the task is thin; the customer's scores take part in APPI requests."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from crm.tenancy.rls import tenant_context
from opportunities import privacy, tasks
from opportunities.models import ReplacementFit, VehicleReplacementScore
from opportunities.services import opportunities_refresh
from tests.factories import CustomerFactory, PurchaseFactory, VehicleFactory

AS_OF = date(2026, 5, 1)


@pytest.fixture
def car(tenant):
    with tenant_context(tenant.pk):
        vehicle = VehicleFactory(customer=CustomerFactory(tenant=tenant), first_registration=date(2017, 3, 1))
        PurchaseFactory(
            customer=vehicle.customer, vehicle=vehicle, date=date(2017, 3, 1), category_code="new_car"
        )
    return vehicle


def test_refresh_fits_once_a_week_and_scores_every_time(tenant, car):
    with tenant_context(tenant.pk):
        first = opportunities_refresh(tenant=tenant, as_of=AS_OF)
        second = opportunities_refresh(tenant=tenant, as_of=AS_OF)
        assert (first["fitted"], second["fitted"]) == (True, False)
        assert (first["vehicles_scored"], second["vehicles_scored"]) == (1, 1)
        assert ReplacementFit.objects.for_tenant(tenant).count() == 1
        assert VehicleReplacementScore.objects.for_tenant(tenant).count() == 1
        ReplacementFit.objects.for_tenant(tenant).update(fitted_at=timezone.now() - timedelta(days=7))
        assert opportunities_refresh(tenant=tenant, as_of=AS_OF)["fitted"] is True
        assert opportunities_refresh(tenant=tenant, as_of=AS_OF, force_fit=True)["fitted"] is True
        assert ReplacementFit.objects.for_tenant(tenant).count() == 3


def test_the_task_refreshes_its_own_shop_only(tenant, other_tenant, car):
    result = tasks.refresh_tenant(tenant.pk)
    assert result["vehicles_scored"] == "1" and result["method"] == "rules"
    with tenant_context(other_tenant.pk):
        assert not VehicleReplacementScore.objects.for_tenant(other_tenant).exists()
    assert tasks.refresh_tenant(999_999) == {}


def test_scores_are_disclosed_and_erased_with_the_customer(tenant, car):
    with tenant_context(tenant.pk):
        opportunities_refresh(tenant=tenant, as_of=AS_OF)
        exported = privacy.export(tenant=tenant, customer=car.customer)
        assert [row["vehicle_id"] for row in exported["replacement_scores"]] == [car.pk]
        assert privacy.erase(tenant=tenant, customer=car.customer, now=timezone.now()) == {
            "scores_deleted": 1,
            "worklist_entries_cleared": 0,
        }
        assert not VehicleReplacementScore.objects.for_tenant(tenant).exists()
