"""Leaving risk on a hand-built shop: valuable customers overdue against their own rhythm or whose
P(alive) fell since last month; the month's P(alive) snapshot; the shop's picked segments."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from analytics.models import BTYDFit, CustomerLTV, CustomerRFM
from crm.tenancy.rls import tenant_context
from opportunities.models import CustomerLeavingRisk, PAliveSnapshot
from opportunities.reasons import leaving_reason
from opportunities.services import leaving_risk_refresh, opportunity_settings_update
from tests.factories import CustomerFactory, ServiceRecordFactory, VehicleFactory

AS_OF = date(2026, 5, 15)


def _customer(tenant, fit, *, visits, p_alive, value, revenue, gp, segment, month_ago=None):
    car = VehicleFactory(customer=CustomerFactory(tenant=tenant))
    for days in visits:
        ServiceRecordFactory(vehicle=car, date=AS_OF - timedelta(days=days))
    customer = car.customer
    CustomerLTV.objects.create(
        tenant=tenant, customer=customer, fit=fit, p_alive=p_alive, expected_value_12m=value
    )
    CustomerRFM.objects.create(
        tenant=tenant, customer=customer, as_of=AS_OF, computed_at=timezone.now(), segment=segment,
        revenue_to_date=revenue, gross_profit_to_date=gp,
    )  # fmt: skip
    if month_ago is not None:
        PAliveSnapshot.objects.create(
            tenant=tenant, customer=customer, month=date(2026, 4, 1), p_alive=month_ago
        )
    return customer


@pytest.fixture
def shop(tenant):
    with tenant_context(tenant.pk):
        fit = BTYDFit.objects.create(tenant=tenant, fitted_at=timezone.now(), as_of=AS_OF, status="ok")
        people = {
            # Long gone (700 days, three intervals of 100 are long past) and only a small fall: not listed.
            "w": _customer(tenant, fit, visits=[900, 800, 700], p_alive=0.30, month_ago=0.35, value=500_000,
                           revenue=150_000, gp=40_000, segment="lost"),
            # On time (10 days ago, every ~100 days), P(alive) steady: not listed.
            "y": _customer(tenant, fit, visits=[300, 200, 100, 10], p_alive=0.90, month_ago=0.92,
                           value=200_000, revenue=100_000, gp=25_000, segment="champions"),
            # Every 100 days, last 200 days ago; P(alive) 80 % → 60 %: listed.
            "x": _customer(tenant, fit, visits=[500, 400, 300, 200], p_alive=0.60, month_ago=0.80,
                           value=120_000, revenue=100_000, gp=25_000, segment="need_attention"),
            # Overdue too, but the least valuable (4th decile of 4): listed only if its segment is picked.
            "z": _customer(tenant, fit, visits=[500, 400, 300], p_alive=0.50, value=10_000,
                           revenue=50_000, gp=10_000, segment="at_risk"),
        }  # fmt: skip
        opportunity_settings_update(tenant=tenant, leaving_top_deciles=3)
    return people


def test_valuable_customers_overdue_or_falling_are_listed(tenant, shop):
    with tenant_context(tenant.pk):
        assert leaving_risk_refresh(tenant=tenant, as_of=AS_OF) == 1
        risk = CustomerLeavingRisk.objects.for_tenant(tenant).get()
        month = PAliveSnapshot.objects.for_tenant(tenant).filter(month=date(2026, 5, 1))
        assert sorted(month.values_list("p_alive", flat=True)) == [0.3, 0.5, 0.6, 0.9]
    assert risk.customer_id == shop["x"].pk
    assert (risk.p_alive, risk.p_alive_month_ago, risk.overdue_days) == (0.6, 0.8, 100)
    # 120,000 of revenue × the shop's gross margin (100,000 / 400,000) × P(leaving) 0.4.
    assert (risk.value, risk.expected_value) == (120_000, 12_000)
    assert risk.facts == {
        "value_12m": 120_000,
        "decile": 3,
        "segment": "need_attention",
        "reasons": ["p_alive_drop", "overdue"],
        "days_since_visit": 200,
        "usual_interval_days": 100,
        "overdue_days": 100,
        "p_alive": 0.6,
        "p_alive_month_ago": 0.8,
    }
    assert leaving_reason(risk.facts, language="en") == (
        "usually every 100 days, last visit 200 days ago (100 days overdue), "
        "chance still active 80 % → 60 % since last month, ¥120,000 expected in 12 months"
    )


def test_a_picked_segment_counts_as_valuable(tenant, shop):
    with tenant_context(tenant.pk):
        opportunity_settings_update(tenant=tenant, leaving_segments=["at_risk"])
        assert leaving_risk_refresh(tenant=tenant, as_of=AS_OF) == 2
        z = CustomerLeavingRisk.objects.for_tenant(tenant).get(customer=shop["z"])
    assert (z.overdue_days, z.p_alive_month_ago, z.value, z.expected_value) == (200, None, 10_000, 1_250)
    assert z.facts["reasons"] == ["overdue"]


def test_refresh_twice_keeps_one_snapshot_per_customer_and_month(tenant, shop):
    with tenant_context(tenant.pk):
        leaving_risk_refresh(tenant=tenant, as_of=AS_OF)
        leaving_risk_refresh(tenant=tenant, as_of=AS_OF + timedelta(days=1))
        assert PAliveSnapshot.objects.for_tenant(tenant).filter(month=date(2026, 5, 1)).count() == 4
        assert CustomerLeavingRisk.objects.for_tenant(tenant).count() == 1
