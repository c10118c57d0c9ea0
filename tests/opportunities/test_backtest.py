"""The backtest on the demo's planted replacement process: the model finds the planted hazard (AUC ≥ 0.75,
calibration within ±5 points in every decile) and finds nothing where there is nothing (AUC ≈ 0.5).

The data is the demo generator's (workspace.demo.replacements) at 3,000 customers, fixed seed and day.
"""

from datetime import date

import numpy as np

from crm.tenancy.rls import tenant_context
from opportunities.backtest import top_per_staff
from opportunities.services import replacement_fit
from tests.factories import MembershipFactory, TenantFactory, UserFactory
from workspace.demo import replacements, seed_tenant

TODAY = date(2026, 6, 30)


def _planted_shop(slug: str):
    tenant = TenantFactory(slug=slug)
    staff = [UserFactory(email=f"sales{i}@{slug}.test") for i in range(3)]
    for user in staff:
        MembershipFactory(tenant=tenant, user=user)
    with tenant_context(tenant.pk):
        seed_tenant(
            tenant=tenant,
            kind="dealer",
            customers=3000,
            years=6,
            seed=7,
            today=TODAY,
            staff_ids=[u.pk for u in staff],
        )
        return tenant, replacement_fit(tenant=tenant, as_of=TODAY)


def test_backtest_finds_the_planted_replacement_hazard(db):
    _tenant, fit = _planted_shop("planted")
    assert fit.method == "model" and fit.backtest_method == "model"
    assert fit.events > 500 and fit.test_vehicles > 2000 and fit.test_events > 80
    assert fit.auc >= 0.75
    assert len(fit.calibration) == 10
    for decile in fit.calibration:
        assert abs(decile["predicted"] - decile["observed"]) <= 0.05, decile
    # The top 20 per staff member replace far more often than the shop's vehicles on average.
    assert fit.hit_listed == 60 and len(fit.hit_by_staff) == 3
    assert fit.hit_replaced / fit.hit_listed > 3 * fit.test_events / fit.test_vehicles


def test_backtest_on_data_without_signal_is_no_better_than_chance(db, monkeypatch):
    monkeypatch.setattr(replacements, "DEMO_HAZARD", replacements.NO_SIGNAL)
    _tenant, fit = _planted_shop("no-signal")
    assert fit.method == "model" and fit.test_events > 80
    assert abs(fit.auc - 0.5) <= 0.05


def test_top_per_staff_keeps_each_members_best_rows():
    staff = np.array([1, 1, 1, 2, 2, 0])
    scores = np.array([0.1, 0.9, 0.5, 0.3, 0.3, 0.7])
    assert top_per_staff(staff, scores, n=2).tolist() == [False, True, True, True, True, True]
    assert top_per_staff(staff, scores, n=1).tolist() == [False, True, False, True, False, True]
