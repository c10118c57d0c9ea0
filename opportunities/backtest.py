"""Fitting a shop's replacement model and checking it on its own past (the backtest).

One history load serves both: the model used from now on learns from every half-year up to today
(cuts 1…W); the backtest learns from the half-years up to the cut date six months ago (cuts 2…W), scores
the vehicles owned at that cut, and compares with the replacements of the six months since. Both switch
to the rules when they have fewer than `MIN_EVENTS_FOR_MODEL` replacements to learn from.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from analytics.btyd import BGNBD
from analytics.models import BTYDFit, FitStatus
from opportunities import model
from opportunities.features import WINDOW_DAYS, Cut, History, cut_features, load_history, person_periods
from opportunities.models import ScoreMethod
from opportunities.rules import rule_scores

# Half-years of history the model learns from (older rows still feed the look-back features).
MAX_WINDOWS = 10
# The weekly list's length per staff member that the hit rate measures.
TOP_PER_STAFF = 20


@dataclass
class FitResult:
    method: str
    params: dict
    events: int
    periods: int
    cut_date: date
    backtest_method: str
    test_vehicles: int = 0
    test_events: int = 0
    auc: float | None = None
    calibration: list = field(default_factory=list)
    hit_listed: int = 0
    hit_replaced: int = 0
    hit_by_staff: list = field(default_factory=list)
    seconds: float = 0.0


def latest_bgnbd(tenant) -> BGNBD | None:
    """The BG/NBD parameters of the shop's latest good analytics fit (for P(alive) at each cut)."""
    fit = BTYDFit.objects.for_tenant(tenant).filter(status=FitStatus.OK).order_by("-fitted_at").first()
    if fit is None or fit.r is None:
        return None
    return BGNBD(r=fit.r, alpha=fit.alpha, a=fit.a, b=fit.b)


def _learn(X: np.ndarray, y: np.ndarray) -> tuple[str, dict]:
    if int(y.sum()) >= model.MIN_EVENTS_FOR_MODEL:
        return ScoreMethod.MODEL, model.fit(X, y)
    return ScoreMethod.RULES, {}


def score_cut(method: str, params: dict, cut: Cut) -> np.ndarray:
    return model.predict(params, cut.X) if method == ScoreMethod.MODEL else rule_scores(cut)


def top_per_staff(staff: np.ndarray, scores: np.ndarray, n: int = TOP_PER_STAFF) -> np.ndarray:
    """Boolean mask of each staff member's n best-scored rows (ties by position)."""
    order = np.lexsort((np.arange(len(scores)), -scores, staff))
    sorted_staff = staff[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_staff)) + 1]
    group_start = np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    mask = np.zeros(len(scores), bool)
    mask[order[np.arange(len(order)) - group_start < n]] = True
    return mask


def _hit_rate(h: History, cut: Cut, scores: np.ndarray, result: FitResult) -> None:
    staff = h.staff_id[cut.rows]
    listed = top_per_staff(staff, scores)
    result.hit_listed = int(listed.sum())
    result.hit_replaced = int((listed & cut.replaced).sum())
    members = np.unique(staff[listed])
    result.hit_by_staff = [
        {
            "staff_id": int(s),
            "listed": int((listed & (staff == s)).sum()),
            "replaced": int((listed & cut.replaced & (staff == s)).sum()),
        }
        for s in members  # one entry per staff member (tens), not per vehicle
    ]


def fit_and_backtest(
    *, tenant, as_of: date, windows: int = MAX_WINDOWS, history: History | None = None
) -> FitResult:
    """Learn the shop's model as of `as_of` and backtest it at `as_of` − 183 days."""
    started = time.perf_counter()
    h = history or load_history(tenant_id=tenant.pk, as_of=as_of, windows=windows, bgnbd=latest_bgnbd(tenant))
    X, y = person_periods(h, 1, windows)
    method, params = _learn(X, y)
    result = FitResult(
        method=method,
        params=params,
        events=int(y.sum()),
        periods=len(y),
        cut_date=as_of - timedelta(days=WINDOW_DAYS),
        backtest_method=ScoreMethod.RULES,
    )
    # Backtest: the rows of cut 1 are exactly the vehicles at risk at the cut date.
    test = cut_features(h, 1)
    # person_periods stacks the cuts in order, so the rows after cut 1's are the history before the cut.
    bt_method, bt_params = _learn(X[len(test.rows) :], y[len(test.rows) :])
    result.backtest_method = bt_method
    scores = score_cut(bt_method, bt_params, test)
    result.test_vehicles, result.test_events = len(test.rows), int(test.replaced.sum())
    result.auc = model.auc(test.replaced, scores)
    result.calibration = model.calibration(test.replaced, scores)
    _hit_rate(h, test, scores, result)
    result.seconds = time.perf_counter() - started
    return result
