"""Scoring reads the live History (`load_history(windows=0)`: one query, the vehicles at risk now, each
look-back already reduced); its features, scores and facts are exactly those of the History with every
bucket (`bucketed_history`), on the demo generator's dealer plus hand-made edge cases: readings older than
the last bucket, a purchase and a service on the same day, a refund, a car with no history at all, a car
known by its model year only."""

from datetime import date

import numpy as np
import pytest

from analytics.btyd import BGNBD
from crm.tenancy.rls import tenant_context
from customers.models import ServiceKind
from opportunities import model
from opportunities.features import bucketed_history, cut_features, load_history
from opportunities.scoring import score_columns
from tests.factories import (
    CustomerFactory,
    MembershipFactory,
    PurchaseFactory,
    ServiceRecordFactory,
    TenantFactory,
    UserFactory,
    VehicleFactory,
)
from workspace.demo import seed_tenant

TODAY = date(2026, 6, 30)


@pytest.fixture
def dealer(db):
    tenant = TenantFactory(slug="live-history")
    staff = UserFactory(email="sales@live-history.test")
    MembershipFactory(tenant=tenant, user=staff)
    with tenant_context(tenant.pk):
        seed_tenant(
            tenant=tenant, kind="dealer", customers=400, years=6, seed=11, today=TODAY, staff_ids=[staff.pk]
        )
        customer = CustomerFactory(tenant=tenant)
        old = VehicleFactory(customer=customer, first_registration=date(2012, 4, 1))
        # Both readings lie beyond the 12th half-year: they share the last bucket, whose highest km counts.
        ServiceRecordFactory(vehicle=old, date=date(2019, 5, 1), mileage=90_000)
        ServiceRecordFactory(vehicle=old, date=date(2018, 1, 10), mileage=95_000)
        ServiceRecordFactory(vehicle=old, date=date(2026, 2, 1), kind=ServiceKind.REPAIR, amount=70_000)
        # A replaced meter: the latest reading is lower than the ones before.
        meter = VehicleFactory(customer=CustomerFactory(tenant=tenant), first_registration=date(2014, 9, 1))
        ServiceRecordFactory(vehicle=meter, date=date(2023, 3, 1), mileage=140_000)
        ServiceRecordFactory(vehicle=meter, date=date(2025, 11, 1), mileage=8_000)
        ServiceRecordFactory(vehicle=meter, date=date(2025, 12, 1), mileage=9_000)
        PurchaseFactory(customer=customer, date=date(2026, 2, 1), category_code="parts", amount=5_000)
        PurchaseFactory(customer=customer, date=date(2026, 3, 1), amount=-5_000, is_refund=True)
        VehicleFactory(customer=CustomerFactory(tenant=tenant), first_registration=None, model_year=None)
        VehicleFactory(customer=customer, first_registration=None, model_year=2018, inspection_expiry=None)
    return tenant


def test_the_live_history_gives_the_features_and_facts_of_every_bucket(dealer):
    with tenant_context(dealer.pk):
        bgnbd = BGNBD(r=0.6, alpha=40.0, a=0.7, b=2.4)  # P(alive) reads the customer's days, first and last
        live = load_history(tenant_id=dealer.pk, as_of=TODAY, windows=0, bgnbd=bgnbd)
        full = bucketed_history(tenant_id=dealer.pk, as_of=TODAY, windows=0, bgnbd=bgnbd)
    now, ref = cut_features(live, 0), cut_features(full, 0)
    # Only the vehicles at risk are loaded: not the sold, scrapped or replaced ones.
    assert (len(now.rows), len(live.vehicle_id), len(ref.rows), len(full.vehicle_id)) == (379, 379, 379, 505)
    assert np.array_equal(live.vehicle_id, full.vehicle_id[ref.rows])
    assert np.array_equal(live.customer_id, full.customer_id[ref.rows])
    assert np.array_equal(live.staff_id, full.staff_id[ref.rows])
    assert np.array_equal(now.X, ref.X)
    for name in ("mileage", "repairs_12m", "repairs_prev_12m", "age_years", "inspection_within_6m"):
        assert np.array_equal(getattr(now, name), getattr(ref, name), equal_nan=True), name
    params = model.fit(
        ref.X, np.arange(len(ref.rows)) % 7 == 0
    )  # any model: the same inputs, the same scores
    for method, fitted in (("model", params), ("rules", {})):
        assert score_columns(h=live, method=method, params=fitted, margin=230_000) == score_columns(
            h=full, method=method, params=fitted, margin=230_000
        )


def test_a_live_history_serves_cut_zero_only(dealer):
    with tenant_context(dealer.pk):
        live = load_history(tenant_id=dealer.pk, as_of=TODAY, windows=0, bgnbd=None)
    with pytest.raises(ValueError, match="cuts 0…0, not 1"):
        cut_features(live, 1)
