"""BG/NBD and Gamma-Gamma against the published CDNOW results, and the per-tenant fit service.

Dataset: the CDNOW sample of 2,357 customers (first purchase in Q1 1997, 39-week calibration
period), as shipped in the `lifetimes` package's `datasets/cdnow_customers_summary.csv` (x, t_x, T
in weeks) and `cdnow_customers_summary_with_transactions.csv` (adds the average spend zbar). The
file is located with importlib.metadata WITHOUT importing lifetimes (it does not import on recent
pandas); lifetimes is a dev/test dependency only.

Published values: BG/NBD r = 0.243, α = 4.414, a = 0.793, b = 2.426, log-likelihood −9582.4
(Fader, Hardie & Lee 2005, Marketing Science, section 5); Gamma-Gamma p = 6.25, q = 3.74, γ = 15.44
over the 946 repeat buyers (Fader, Hardie & Lee 2005, JMR "RFM and CLV"; Fader & Hardie's note on
the Gamma-Gamma model). Tolerance: ±2% on each parameter, ±0.5 on the log-likelihood.
"""

from datetime import date, timedelta
from importlib.metadata import PackageNotFoundError, files

import numpy as np
import pandas as pd
import pytest

from analytics import btyd
from analytics.models import BTYDFit, CustomerLTV, FitStatus
from analytics.selectors import customer_ltv_get, predicted_ltv_summary
from analytics.services import btyd_fit_tenant
from tests.analytics.helpers import build_shop


def _cdnow(name: str) -> pd.DataFrame:
    try:
        path = next(f for f in files("lifetimes") if f.name == name)
    except PackageNotFoundError:
        pytest.fail(
            "install the dev extra: the CDNOW data comes from the `lifetimes` package (pip install -e .[dev])"
        )
    return pd.read_csv(path.locate())


def _close(value, published, rel=0.02):
    return abs(value - published) <= rel * published


def test_bgnbd_reproduces_published_cdnow_estimates():
    data = _cdnow("cdnow_customers_summary.csv")
    assert len(data) == 2357

    model = btyd.fit_bgnbd(data["frequency"].to_numpy(), data["recency"].to_numpy(), data["T"].to_numpy())

    assert _close(model.r, 0.243) and _close(model.alpha, 4.414)
    assert _close(model.a, 0.793) and _close(model.b, 2.426)
    ll = btyd.bgnbd_log_likelihood(
        (model.r, model.alpha, model.a, model.b),
        data["frequency"].to_numpy(),
        data["recency"].to_numpy(),
        data["T"].to_numpy(),
    ).sum()
    assert abs(ll - (-9582.4)) < 0.5


def test_bgnbd_conditional_expectation_matches_the_paper_example():
    """Paper, section 5: a customer with x=2, t_x=30.43, T=38.86 expects 1.226 purchases in 39 weeks."""
    model = btyd.BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426)
    expected = btyd.expected_purchases(model, 39.0, np.array([2.0]), np.array([30.43]), np.array([38.86]))
    assert abs(expected[0] - 1.226) < 0.005
    # A one-time buyer has P(alive) = 1 in the BG/NBD (no repeat, no chance to drop out yet).
    assert btyd.p_alive(model, np.array([0.0]), np.array([0.0]), np.array([38.86]))[0] == 1.0


def test_gamma_gamma_reproduces_published_cdnow_estimates():
    data = _cdnow("cdnow_customers_summary_with_transactions.csv")
    repeaters = data[data["x"] > 0]
    assert len(repeaters) == 946

    model = btyd.fit_gamma_gamma(repeaters["x"].to_numpy(), repeaters["zbar"].to_numpy())

    assert _close(model.p, 6.25) and _close(model.q, 3.74) and _close(model.gamma, 15.44)


def _simulated_rows(n_customers: int, seed: int) -> list[tuple]:
    """A plausible dealer history: everyone buys once, about half return a few times."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n_customers):
        first = int(rng.integers(0, 900))
        rows.append((c, first, int(rng.integers(1, 30)) * 10_000, "purchase"))
        if rng.random() < 0.5:
            for day in sorted(rng.integers(first + 1, 1500, size=int(rng.integers(1, 5)))):
                rows.append((c, int(day), int(rng.integers(1, 30)) * 10_000, "purchase"))
    return rows


@pytest.mark.django_db
def test_fit_stores_parameters_holdout_and_labels_one_time_buyers(tenant, other_tenant):
    _t, _customers, frame = build_shop(120, _simulated_rows(120, seed=3), tenant=tenant)
    build_shop(30, _simulated_rows(30, seed=4), tenant=other_tenant)
    as_of = date(2026, 3, 1)

    fit = btyd_fit_tenant(tenant=tenant, as_of=as_of)

    assert fit.status == FitStatus.OK
    assert all(v > 0 for v in (fit.r, fit.alpha, fit.a, fit.b, fit.p, fit.q, fit.gamma))
    buy_days = frame[frame["date"] <= pd.Timestamp(as_of)].groupby("customer_id")["date"].nunique()
    assert fit.n_customers == len(buy_days)
    assert fit.n_repeat == int((buy_days >= 2).sum())
    cal_end = pd.Timestamp(as_of - timedelta(weeks=52))
    hold = frame[(frame["date"] > cal_end) & (frame["date"] <= pd.Timestamp(as_of))]
    cal_customers = set(frame.loc[frame["date"] <= cal_end, "customer_id"])
    assert fit.holdout_actual == len(
        hold[hold["customer_id"].isin(cal_customers)][["customer_id", "date"]].drop_duplicates()
    )
    assert fit.holdout_predicted > 0

    ltv = {row.customer_id: row for row in CustomerLTV.objects.for_tenant(tenant)}
    assert set(ltv) == set(buy_days.index)  # other tenant's customers are not here
    for cid, days in buy_days.items():
        row = ltv[cid]
        if days < 2:
            assert row.insufficient_history and row.expected_value_12m is None and row.p_alive is None
        else:
            assert not row.insufficient_history
            assert row.expected_purchases_12m > 0 and 0 < row.p_alive <= 1 and row.expected_value_12m > 0
    assert predicted_ltv_summary(tenant=tenant)["insufficient"] == int((buy_days < 2).sum())
    one_timer = next(cid for cid, d in buy_days.items() if d == 1)
    assert customer_ltv_get(tenant=tenant, customer_id=one_timer)["expected_value_12m"] is None


@pytest.mark.django_db
def test_fit_with_too_few_repeat_customers_gives_no_numbers(tenant):
    build_shop(
        3, [(0, 10, 1000, "purchase"), (0, 20, 1000, "purchase"), (1, 5, 1000, "purchase")], tenant=tenant
    )

    fit = btyd_fit_tenant(tenant=tenant, as_of=date(2026, 3, 1))

    assert fit.status == FitStatus.INSUFFICIENT and fit.r is None
    rows = CustomerLTV.objects.for_tenant(tenant)
    assert rows.count() == 2 and not rows.filter(insufficient_history=False).exists()
    assert BTYDFit.objects.for_tenant(tenant).count() == 1


def test_weighted_fit_on_distinct_tuples_equals_the_fit_on_every_customer():
    data = _cdnow("cdnow_customers_summary.csv")
    x, t_x, T = (data[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    (ux, utx, uT), weights, inverse = btyd.compress(x, t_x, T)
    assert len(ux) < len(x) and weights.sum() == len(x)
    assert np.array_equal(ux[inverse], x) and np.array_equal(uT[inverse], T)

    full, compressed = btyd.fit_bgnbd(x, t_x, T), btyd.fit_bgnbd(ux, utx, uT, weights)

    for name in ("r", "alpha", "a", "b"):
        assert getattr(compressed, name) == pytest.approx(getattr(full, name), rel=1e-6)
    spend = _cdnow("cdnow_customers_summary_with_transactions.csv")
    spend = spend[spend["x"] > 0]
    (gx, gm), gw, _ = btyd.compress(spend["x"].to_numpy(), spend["zbar"].to_numpy())
    gg_full = btyd.fit_gamma_gamma(spend["x"].to_numpy(), spend["zbar"].to_numpy())
    gg_weighted = btyd.fit_gamma_gamma(gx, gm, gw)
    for name in ("p", "q", "gamma"):
        assert getattr(gg_weighted, name) == pytest.approx(getattr(gg_full, name), rel=1e-6)


def test_predict_matches_the_per_horizon_formulas():
    """`predict` pools the hypergeometric terms per (x, T); the result is the formula of eq. (10)."""
    model = btyd.BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426)
    data = _cdnow("cdnow_customers_summary.csv")
    x, t_x, T = (data[c].to_numpy(float) for c in ("frequency", "recency", "T"))

    out = btyd.predict(model, x, t_x, T, months=12, annual_rate=0.10)

    assert out.purchases == pytest.approx(btyd.expected_purchases(model, 52.0, x, t_x, T), rel=1e-12)
    assert out.p_alive == pytest.approx(btyd.p_alive(model, x, t_x, T), rel=1e-12)
    expected, previous = np.zeros(len(x)), np.zeros(len(x))
    for k in range(1, 13):
        current = btyd.expected_purchases(model, k * 52.0 / 12.0, x, t_x, T)
        expected += (current - previous) / 1.10 ** (k / 12)
        previous = current
    assert out.discount_factor == pytest.approx(expected, rel=1e-12)


@pytest.mark.django_db
def test_stored_predictions_follow_from_each_customers_own_history(tenant):
    """The one-query summary (first-day amount packed into MIN) gives each customer's x, t_x, T, m."""
    rows = _simulated_rows(120, seed=5)
    # Every customer also buys twice on their first day, and some get a refund (not a purchase).
    firsts = {}
    for c, day, _amount, _kind in rows:
        firsts.setdefault(c, day)
    rows += [(c, day, 7_000, "purchase") for c, day in firsts.items()]
    rows += [(c, day + 3, 2_000, "refund") for c, day in firsts.items() if c % 3 == 0]
    _t, _customers, frame = build_shop(120, rows, tenant=tenant)
    as_of = date(2026, 3, 1)

    fit = btyd_fit_tenant(tenant=tenant, as_of=as_of)

    assert fit.status == FitStatus.OK
    bg = btyd.BGNBD(fit.r, fit.alpha, fit.a, fit.b)
    gg = btyd.GammaGamma(fit.p, fit.q, fit.gamma)
    buys = frame[(frame["date"] <= pd.Timestamp(as_of)) & ~frame["is_refund"]]
    per_day = buys.groupby(["customer_id", "date"])["amount"].sum().reset_index().sort_values("date")
    stored = {row.customer_id: row for row in CustomerLTV.objects.for_tenant(tenant)}
    checked = 0
    for cid, days in per_day.groupby("customer_id"):
        x = len(days) - 1
        if x == 0:
            continue
        t_x = (days["date"].iloc[-1] - days["date"].iloc[0]).days / 7
        T = (pd.Timestamp(as_of) - days["date"].iloc[0]).days / 7
        m = days["amount"].iloc[1:].sum() / x
        args = (np.array([float(x)]), np.array([t_x]), np.array([T]))
        purchases = btyd.expected_purchases(bg, 52.0, *args)[0]
        value = btyd.discounted_value(bg, btyd.expected_spend(gg, args[0], np.array([m])), *args)[0]
        assert stored[cid].expected_purchases_12m == pytest.approx(purchases, rel=1e-9)
        assert stored[cid].p_alive == pytest.approx(btyd.p_alive(bg, *args)[0], rel=1e-9)
        assert stored[cid].expected_value_12m == pytest.approx(value, rel=1e-9)
        checked += 1
    assert checked == fit.n_repeat > 20
