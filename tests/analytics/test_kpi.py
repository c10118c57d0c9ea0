"""KPI tree, conversion and cohorts against straightforward pandas references on random histories."""

import math
from datetime import date

import numpy as np
import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import selectors
from analytics.kpi import lmdi
from analytics.models import MonthlyKPI
from analytics.services import analytics_settings_update, kpi_refresh
from tests.analytics.helpers import (
    AS_OF,
    build_shop,
    history,
    month_idx,
    reference_kpi,
    reference_stages,
    select_source,
)
from tests.factories import UserFactory

HYPOTHESIS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
FIELDS = [
    "sales", "refunds", "transactions", "customers", "new_customers", "returning_customers",
    "reactivated", "churned", "active_base",
]  # fmt: skip


@pytest.mark.django_db
@HYPOTHESIS
@given(
    shop=history,
    noise=history,
    source=st.sampled_from(["purchases", "services", "both"]),
    horizon=st.sampled_from([1, 6, 18]),
)
def test_monthly_kpis_match_pandas_reference(shop, noise, source, horizon):
    """Every stored month equals the reference; another tenant's rows never count.

    The reference computes the active base directly (customers with a purchase in the H months ending
    with m) while the SQL accumulates new + reactivated − churned, so the two agree only if the churn
    and reactivation events are right.
    """
    tenant, _customers, frame = build_shop(*shop)
    tenant.churn_horizon_months = horizon
    tenant.save()
    build_shop(*noise)
    analytics_settings_update(tenant=tenant, source=source)

    kpi_refresh(tenant=tenant, as_of=AS_OF)

    ref = reference_kpi(frame, as_of=AS_OF, source=source, horizon=horizon)
    stored = {month_idx(r.month): r for r in MonthlyKPI.objects.for_tenant(tenant)}
    assert set(stored) == set(ref)
    for m, want in ref.items():
        got = {f: getattr(stored[m], f) for f in FIELDS}
        assert got == want, m

    tree = selectors.kpi_tree(tenant=tenant, months=36, as_of=AS_OF)
    assert len(tree) == 36
    for row in tree:
        if row["customers"]:
            assert math.isclose(
                row["customers"] * row["frequency"] * row["unit_price"], row["sales"], rel_tol=1e-12
            )
        else:
            assert row["sales"] == 0 and row["frequency"] is None
        for key in ("vs_last_month", "vs_last_year"):
            split = row[key]
            total = split["customers"] + split["frequency"] + split["unit_price"]
            assert math.isclose(total, split["change"], rel_tol=1e-9, abs_tol=1e-6)


@pytest.mark.django_db
@HYPOTHESIS
@given(shop=history, source=st.sampled_from(["purchases", "both"]))
def test_kpi_per_staff_counts_only_their_customers(shop, source):
    staff = UserFactory()
    tenant, customers, frame = build_shop(*shop, staff=staff)
    analytics_settings_update(tenant=tenant, source=source)
    mine = {c.pk for c in customers if c.assigned_staff_id == staff.pk}

    tree = selectors.kpi_tree(tenant=tenant, months=36, as_of=AS_OF, staff_id=staff.pk)

    ref = reference_kpi(frame[frame["customer_id"].isin(mine)], as_of=AS_OF, source=source, horizon=18)
    for row in tree:
        want = ref.get(month_idx(row["month"]))
        if want is None:
            assert row["sales"] == 0 and row["customers"] == 0
        else:
            assert {f: row[f] for f in FIELDS} == want


def test_lmdi_effects_sum_exactly_and_name_the_driver():
    before = {"sales": 1_000_000, "customers": 10, "transactions": 12}
    after = {"sales": 1_500_000, "customers": 10, "transactions": 12}  # only unit price moved
    split = lmdi(before, after)
    assert split["change"] == 500_000
    assert split["customers"] == 0 and split["frequency"] == 0
    assert math.isclose(split["unit_price"], 500_000)
    assert split["main_driver"] == "unit_price"

    after = {"sales": 2_000_000, "customers": 20, "transactions": 24}  # customers doubled, rest equal
    split = lmdi(before, after)
    assert math.isclose(split["customers"], 1_000_000) and split["main_driver"] == "customers"
    assert abs(split["frequency"]) < 1e-9 and abs(split["unit_price"]) < 1e-9


def test_lmdi_with_an_empty_month_gives_the_change_to_customers():
    empty = {"sales": 0, "customers": 0, "transactions": 0}
    full = {"sales": 30_000, "customers": 2, "transactions": 3}
    assert lmdi(empty, full) == {
        "change": 30_000, "customers": 30_000.0, "frequency": 0.0, "unit_price": 0.0,
        "main_driver": "customers",
    }  # fmt: skip
    assert lmdi(full, empty)["customers"] == -30_000.0
    assert lmdi(None, full) is None


@pytest.mark.django_db
@HYPOTHESIS
@given(
    shop=history,
    noise=history,
    source=st.sampled_from(["purchases", "services", "both"]),
    repeat_months=st.sampled_from([1, 12, 24]),
    loyal=st.sampled_from([2, 3, 4]),
)
def test_conversion_funnel_matches_pandas_reference(shop, noise, source, repeat_months, loyal):
    tenant, _customers, frame = build_shop(*shop)
    build_shop(*noise)
    analytics_settings_update(
        tenant=tenant, source=source, repeat_within_months=repeat_months, loyal_min_transactions=loyal
    )
    horizon_days = (AS_OF - (AS_OF - relativedelta(months=tenant.churn_horizon_months))).days

    funnel = selectors.conversion_funnel(tenant=tenant, as_of=AS_OF)

    ref = reference_stages(
        frame, as_of=AS_OF, source=source, repeat_months=repeat_months, loyal=loyal, horizon_days=horizon_days
    )
    repeat_days = int(repeat_months * 30.4375)
    assert funnel["customers"] == len(ref)
    assert funnel["repeat_any"] == int((ref["n"] >= 2).sum())
    assert funnel["repeat_in_time"] == int(((ref["n"] >= 2) & (ref["gap1"] <= repeat_days)).sum())
    assert funnel["loyal"] == int((ref["n"] >= loyal).sum())
    gaps1, gaps2 = ref["gap1"].dropna(), ref["gap2"].dropna()
    assert funnel["median_days_first_to_repeat"] == (float(np.median(gaps1)) if len(gaps1) else None)
    assert funnel["median_days_repeat_to_loyal"] == (float(np.median(gaps2)) if len(gaps2) else None)
    stages = {s["stage"]: s for s in funnel["retention_by_stage"]}
    masks = {"new": ref["n"] == 1, "repeat": (ref["n"] >= 2) & (ref["n"] < loyal), "loyal": ref["n"] >= loyal}
    for stage, mask in masks.items():
        assert stages[stage]["customers"] == int(mask.sum())
        assert stages[stage]["active"] == int((mask & ref["active"].astype(bool)).sum())


@pytest.mark.django_db
@HYPOTHESIS
@given(shop=history, noise=history, source=st.sampled_from(["purchases", "services", "both"]))
def test_cohort_retention_matches_pandas_reference(shop, noise, source):
    tenant, _customers, frame = build_shop(*shop)
    build_shop(*noise)
    analytics_settings_update(tenant=tenant, source=source)

    cohorts = selectors.cohort_retention(tenant=tenant, as_of=AS_OF, months=60)

    tx = select_source(frame, source, AS_OF)
    buys = tx[~tx["is_refund"].astype(bool)].copy()
    buys["mi"] = buys["date"].map(month_idx)
    expected = {}
    for cid, f in buys.groupby("customer_id")["mi"].min().items() if len(buys) else []:
        for m in set(buys.loc[buys["customer_id"] == cid, "mi"]):
            expected.setdefault(f, {}).setdefault(m - f, 0)
            expected[f][m - f] += 1
    got = {month_idx(c["cohort"]): {k: v for k, v in enumerate(c["active"]) if v} for c in cohorts}
    assert got == expected
    for c in cohorts:
        assert c["size"] == c["active"][0]
        assert c["retention"][0] == 1.0


@pytest.mark.django_db
def test_empty_tenant_has_empty_analytics(tenant):
    assert kpi_refresh(tenant=tenant, as_of=AS_OF) == 0
    tree = selectors.kpi_tree(tenant=tenant, months=12, as_of=AS_OF)
    assert [r["sales"] for r in tree] == [0] * 12
    assert selectors.conversion_funnel(tenant=tenant, as_of=AS_OF)["customers"] == 0
    assert selectors.cohort_retention(tenant=tenant, as_of=AS_OF) == []


@pytest.mark.django_db
def test_kpi_cards_compare_month_last_month_and_last_year(tenant):
    rows = [
        (0, 0, 10_000, "purchase"),  # 2022-01-01
        (0, 365 + 366 + 365 + 31, 20_000, "purchase"),  # 2025-02-01
        (1, 365 + 366 + 365 + 31, 20_000, "purchase"),
        (0, 365 + 366 + 365 + 365 + 31, 30_000, "purchase"),  # 2026-02-01: one customer, higher spend
    ]
    build_shop(2, rows, tenant=tenant)
    kpi_refresh(tenant=tenant, as_of=date(2026, 2, 28))

    cards = selectors.kpi_cards(tenant=tenant, month=date(2026, 2, 14))

    assert cards["month"] == date(2026, 2, 1)
    assert cards["current"]["sales"] == 30_000 and cards["current"]["customers"] == 1
    assert cards["last_month"]["sales"] == 0
    assert cards["last_year"] == {
        "sales": 40_000, "customers": 2, "frequency": 1.0, "unit_price": 20_000.0, "new_customers": 1,
        "churned": 0,
    }  # fmt: skip
    assert cards["change_vs_last_year"]["change"] == -10_000
    assert cards["change_vs_last_year"]["main_driver"] == "customers"
    assert cards["main_driver"] == "customers"  # vs last month (empty): everything came from customers
