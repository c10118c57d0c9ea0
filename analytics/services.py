# ruff: noqa: S608 -- SQL text is built from model _meta names and fixed fragments; every value is bound.
"""Every write of the analytics app: settings, the RFM/segment refresh, snapshots, KPIs and the BTYD fit."""

from __future__ import annotations

import logging
import time
from datetime import date, timedelta

import numpy as np
from django.db import transaction
from django.utils import timezone

from analytics import btyd
from analytics.kpi import monthly_series
from analytics.models import (
    DEFAULT_SEGMENT_MAP,
    AnalyticsSettings,
    BTYDFit,
    CustomerLTV,
    FitStatus,
    MonthlyKPI,
    RetentionMonthly,
)
from analytics.retention import retention_rows
from analytics.rfm import rfm_refresh_sql, snapshot_sql
from analytics.sql import date_param, days_between, fetchall, transactions_cte, tune_refresh_transaction
from crm.db.bulk import bulk_insert
from crm.models import Tenant

logger = logging.getLogger(__name__)

# Below this many customers with a repeat purchase a BTYD fit says nothing useful.
MIN_REPEAT_CUSTOMERS_FOR_FIT = 20
HOLDOUT_WEEKS = 52


def analytics_settings_get(*, tenant: Tenant) -> AnalyticsSettings:
    """The tenant's analytics settings, created with the defaults (and default segment map) on first use."""
    obj, _ = AnalyticsSettings.objects.for_tenant(tenant).get_or_create(
        tenant=tenant, defaults={"segment_map": dict(DEFAULT_SEGMENT_MAP)}
    )
    return obj


@transaction.atomic
def analytics_settings_update(*, tenant: Tenant, **fields) -> AnalyticsSettings:
    """Change a tenant's analytics settings (segment map, source, window …); validated before saving."""
    obj = analytics_settings_get(tenant=tenant)
    for name, value in fields.items():
        setattr(obj, name, value)
    obj.full_clean()
    obj.save()
    return obj


@transaction.atomic
def rfm_refresh(*, tenant: Tenant, as_of: date | None = None) -> int:
    """Recompute every customer's RFM scores and segment, and this month's snapshot.

    Returns the number of customers scored. One transaction, so readers see either the old or the
    new scores, never a mix; only rows that changed are written (see `rfm_refresh_sql`).
    """
    as_of = as_of or timezone.localdate()
    conf = analytics_settings_get(tenant=tenant)
    tune_refresh_transaction()
    result = rfm_refresh_sql(
        tenant_id=tenant.pk,
        as_of=as_of,
        window_months=conf.window_months,
        source=conf.source,
        segment_map=conf.segment_map or DEFAULT_SEGMENT_MAP,
    )
    snapshot_sql(tenant_id=tenant.pk, month=as_of.replace(day=1))
    return result["customers"]


@transaction.atomic
def kpi_refresh(*, tenant: Tenant, as_of: date | None = None) -> int:
    """Rebuild the tenant's precomputed monthly KPI rows up to the month of `as_of`."""
    as_of = as_of or timezone.localdate()
    conf = analytics_settings_get(tenant=tenant)
    series = monthly_series(
        tenant_id=tenant.pk, source=conf.source, as_of=as_of, horizon_months=tenant.churn_horizon_months
    )
    now = timezone.now()
    MonthlyKPI.objects.for_tenant(tenant).delete()
    MonthlyKPI.objects.bulk_create(
        [
            MonthlyKPI(
                tenant=tenant,
                month=row["month"],
                sales=row["sales"],
                refunds=row["refunds"],
                transactions=row["transactions"],
                customers=row["customers"],
                new_customers=row["new_customers"],
                returning_customers=row["returning_customers"],
                reactivated=row["reactivated"],
                churned=row["churned"],
                active_base=row["active_base"],
                computed_at=now,
            )
            for row in series  # one object per month
        ]
    )
    return len(series)


# The first day's amount is carried through MIN() by packing (day number, amount) into one integer:
# day numbers since 1970 stay below 2^17 and a customer's purchases on one day below 2^40 yen, so the
# packed value fits a 64-bit integer on both databases and its minimum is the first day's.
_FIRST_DAY_SHIFT = 2**40


def _btyd_summary(*, tenant: Tenant, source: str, as_of: date, calibration_end: date) -> np.ndarray:
    """One row per customer with a transaction day, as an int64 matrix in one query.

    Columns: customer id, first / last transaction day (days since 1970), transaction days, total
    amount, packed (first day, first day's amount), last day up to the calibration end, transaction
    days up to / after the calibration end. Refund rows are left out (a refund is not a purchase).
    """
    tx, params = transactions_cte(source=source, tenant_id=tenant.pk, until=as_of)
    d = date_param()
    day_number = days_between("d", d)
    sql = f"""
    WITH {tx},
    days AS (SELECT customer_id, d, {day_number} AS dn, SUM(amount) AS amt
             FROM tx WHERE NOT is_refund GROUP BY customer_id, d)
    SELECT customer_id, MIN(dn), MAX(dn), COUNT(*), CAST(SUM(amt) AS BIGINT),
           MIN(dn * {_FIRST_DAY_SHIFT} + amt),
           MAX(CASE WHEN d <= {d} THEN dn END), SUM(CASE WHEN d <= {d} THEN 1 ELSE 0 END),
           SUM(CASE WHEN d > {d} THEN 1 ELSE 0 END)
    FROM days GROUP BY customer_id
    """
    rows = fetchall(sql, [*params, date(1970, 1, 1), calibration_end, calibration_end, calibration_end])
    if not rows:
        return np.zeros((0, 9), dtype=np.int64)
    # A customer whose first day is after the calibration end has no calibration last day (NULL):
    # -1 marks it; such customers are outside the holdout check anyway.
    return np.array([[-1 if v is None else v for v in row] for row in rows], dtype=np.int64)


def _days_to_weeks(days) -> np.ndarray:
    return np.asarray(days, dtype=float) / 7.0


@transaction.atomic
def btyd_fit_tenant(*, tenant: Tenant, as_of: date | None = None, timings: dict | None = None) -> BTYDFit:
    """Fit BG/NBD + Gamma-Gamma on the tenant's history and store per-customer predictions.

    Holdout check: the same model is first fitted on the history up to `as_of − 52 weeks` and its
    predicted repeat transactions over the last 52 weeks compared with the actual number.
    Customers with fewer than two transaction days get `insufficient_history` and no numbers.
    The fits run on the distinct (x, t_x, T) tuples weighted by how many customers share each,
    which is the same likelihood; time is measured in whole days, so identical tuples are common.
    `timings`, if given, receives the seconds spent in each phase (for the benchmark).
    """
    timings = {} if timings is None else timings
    started = time.perf_counter()
    as_of = as_of or timezone.localdate()
    conf = analytics_settings_get(tenant=tenant)
    cal_end = as_of - timedelta(weeks=HOLDOUT_WEEKS)
    summary = _btyd_summary(tenant=tenant, source=conf.source, as_of=as_of, calibration_end=cal_end)
    timings["summary query"] = time.perf_counter() - started
    ids, first, last, n, total, first_key, cal_last, cal_n, hold_n = summary.T
    epoch = date(1970, 1, 1)
    today, cal_day = (as_of - epoch).days, (cal_end - epoch).days
    x = (n - 1).astype(float)
    t_x, T = _days_to_weeks(last - first), _days_to_weeks(today - first)
    first_amount = first_key - (first_key // _FIRST_DAY_SHIFT) * _FIRST_DAY_SHIFT
    m = np.where(x > 0, (total - first_amount) / np.maximum(x, 1), 0.0)

    fit = BTYDFit(tenant=tenant, fitted_at=timezone.now(), as_of=as_of, holdout_weeks=HOLDOUT_WEEKS)
    fit.n_customers = len(ids)
    fit.n_repeat = int((x > 0).sum())
    CustomerLTV.objects.for_tenant(tenant).delete()
    if fit.n_repeat < MIN_REPEAT_CUSTOMERS_FOR_FIT:
        fit.status = FitStatus.INSUFFICIENT
        fit.message = (
            f"{fit.n_repeat} customers with a repeat purchase; at least {MIN_REPEAT_CUSTOMERS_FOR_FIT} needed"
        )
        return _save_fit(tenant=tenant, fit=fit, ids=ids, insufficient=np.ones(len(ids), bool))
    try:
        (ux, utx, uT), weights, _ = btyd.compress(x, t_x, T)
        bg = btyd.fit_bgnbd(ux, utx, uT, weights)
        spenders = (x > 0) & (m > 0)
        (gx, gm), gweights, _ = btyd.compress(x[spenders], m[spenders])
        gg = btyd.fit_gamma_gamma(gx, gm, gweights)
        in_cal = first <= cal_day
        if (cal_n[in_cal] > 1).sum() >= MIN_REPEAT_CUSTOMERS_FOR_FIT:
            cx = (cal_n[in_cal] - 1).astype(float)
            ctx = _days_to_weeks(cal_last[in_cal] - first[in_cal])
            cT = _days_to_weeks(cal_day - first[in_cal])
            (ucx, uctx, ucT), cweights, _ = btyd.compress(cx, ctx, cT)
            cal_bg = btyd.fit_bgnbd(ucx, uctx, ucT, cweights)
            fit.holdout_predicted = float(btyd.expected_purchases(cal_bg, HOLDOUT_WEEKS, cx, ctx, cT).sum())
            fit.holdout_actual = int(hold_n[in_cal].sum())
            fit.holdout_customers = int(in_cal.sum())
    except (ArithmeticError, ValueError, FloatingPointError) as exc:
        logger.warning("BTYD fit failed for tenant %s: %s", tenant.pk, exc)
        fit.status, fit.message = FitStatus.FAILED, str(exc)[:300]
        return _save_fit(tenant=tenant, fit=fit, ids=ids, insufficient=np.ones(len(ids), bool))
    fit.status = FitStatus.OK
    timings["fits"] = time.perf_counter() - started - sum(timings.values())
    fit.r, fit.alpha, fit.a, fit.b = bg.r, bg.alpha, bg.a, bg.b
    fit.p, fit.q, fit.gamma = gg.p, gg.q, gg.gamma
    prediction = btyd.predict(bg, x, t_x, T, months=12, annual_rate=conf.annual_discount_rate)
    value = prediction.discount_factor * btyd.expected_spend(gg, x, m)
    timings["predictions"] = time.perf_counter() - started - sum(timings.values())
    saved = _save_fit(
        tenant=tenant,
        fit=fit,
        ids=ids,
        insufficient=x < 1,
        purchases=prediction.purchases,
        alive=prediction.p_alive,
        value=value,
    )
    timings["writes"] = time.perf_counter() - started - sum(timings.values())
    return saved


def _save_fit(*, tenant, fit, ids, insufficient, purchases=None, alive=None, value=None) -> BTYDFit:
    fit.full_clean()
    fit.save()
    _store_ltv(
        tenant=tenant,
        fit=fit,
        ids=ids,
        insufficient=insufficient,
        purchases=purchases,
        alive=alive,
        value=value,
    )
    return fit


def _store_ltv(*, tenant, fit, ids, insufficient, purchases=None, alive=None, value=None) -> None:
    """Write one CustomerLTV row per customer straight from the numpy arrays (COPY on PostgreSQL).

    Plain tuples instead of model instances: building 100k model objects for `bulk_create` took
    longer than the fit itself. NaN/inf and insufficient-history customers become NULL.
    """

    def column(arr):
        if arr is None:
            return [None] * len(ids)
        values = np.asarray(arr, dtype=float)
        out = values.astype(object)
        out[insufficient | ~np.isfinite(values)] = None
        return out.tolist()

    rows = zip(
        [tenant.pk] * len(ids),
        [fit.pk] * len(ids),
        ids.tolist(),
        np.asarray(insufficient, bool).tolist(),
        column(purchases),
        column(alive),
        column(value),
        strict=True,
    )
    bulk_insert(
        CustomerLTV,
        [
            "tenant_id",
            "fit_id",
            "customer_id",
            "insufficient_history",
            "expected_purchases_12m",
            "p_alive",
            "expected_value_12m",
        ],
        rows,
    )


@transaction.atomic
def retention_refresh(*, tenant: Tenant, as_of: date | None = None) -> int:
    """Rebuild the tenant's monthly retention rows (車検, 12-month check, service return) up to `as_of`.

    One aggregate query (analytics.retention); its few thousand rows replace the previous ones in the
    same transaction, so readers see the old or the new figures. Run after `rfm_refresh` (segments).
    """
    as_of = as_of or timezone.localdate()
    tune_refresh_transaction()
    rows = retention_rows(tenant_id=tenant.pk, as_of=as_of)
    now = timezone.now()
    RetentionMonthly.objects.for_tenant(tenant).delete()
    RetentionMonthly.objects.bulk_create(
        [RetentionMonthly(tenant=tenant, computed_at=now, **row) for row in rows], batch_size=2000
    )
    return len(rows)


def analytics_refresh_tenant(*, tenant: Tenant, as_of: date | None = None, fit: bool = True) -> dict:
    """The nightly refresh of one tenant: RFM + snapshot, monthly KPIs, retention, and (optionally) the
    BTYD fit."""
    as_of = as_of or timezone.localdate()
    result = {
        "rfm_rows": rfm_refresh(tenant=tenant, as_of=as_of),
        "kpi_months": kpi_refresh(tenant=tenant, as_of=as_of),
        "retention_rows": retention_refresh(tenant=tenant, as_of=as_of),
    }
    if fit:
        result["btyd_status"] = btyd_fit_tenant(tenant=tenant, as_of=as_of).status
    return result
