# ruff: noqa: S608 -- SQL text is built from model _meta names and fixed fragments; every value is bound.
"""Every write of the analytics app: settings, the RFM/segment refresh, snapshots, KPIs and the BTYD fit."""

from __future__ import annotations

import logging
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
)
from analytics.rfm import rfm_refresh_sql, snapshot_sql
from analytics.sql import date_param, execute, fetchall, transactions_cte
from crm.models import Tenant

logger = logging.getLogger(__name__)

# Below this many customers with a repeat purchase a BTYD fit says nothing useful.
MIN_REPEAT_CUSTOMERS_FOR_FIT = 20
HOLDOUT_WEEKS = 52
LTV_BATCH_SIZE = 2000  # 7 parameters a row: stays under SQLite's 32,766 bound parameters


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
    """Recompute every customer's RFM scores and segment, and this month's snapshot. Returns rows written.

    One DELETE and one INSERT … SELECT for the scores, one for the snapshot, in one transaction, so
    readers see either the old or the new scores, never a mix.
    """
    as_of = as_of or timezone.localdate()
    conf = analytics_settings_get(tenant=tenant)
    written = rfm_refresh_sql(
        tenant_id=tenant.pk,
        as_of=as_of,
        window_months=conf.window_months,
        source=conf.source,
        segment_map=conf.segment_map or DEFAULT_SEGMENT_MAP,
    )
    snapshot_sql(tenant_id=tenant.pk, month=as_of.replace(day=1))
    return written


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


def _btyd_rows(*, tenant: Tenant, source: str, as_of: date, calibration_end: date):
    """One row per customer with a transaction day: first/last day, counts, amounts, calibration split."""
    tx, params = transactions_cte(source=source, tenant_id=tenant.pk, until=as_of)
    d = date_param()
    sql = f"""
    WITH {tx},
    days AS (SELECT customer_id, d, SUM(amount) AS amt FROM tx WHERE NOT is_refund GROUP BY customer_id, d),
    num AS (SELECT customer_id, d, amt, ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY d) AS k
            FROM days)
    SELECT customer_id, MIN(d), MAX(d), COUNT(*), CAST(SUM(amt) AS BIGINT),
           CAST(SUM(CASE WHEN k = 1 THEN amt ELSE 0 END) AS BIGINT),
           MAX(CASE WHEN d <= {d} THEN d END), SUM(CASE WHEN d <= {d} THEN 1 ELSE 0 END),
           SUM(CASE WHEN d > {d} THEN 1 ELSE 0 END)
    FROM num GROUP BY customer_id
    """
    return fetchall(sql, [*params, calibration_end, calibration_end, calibration_end])


def _weeks(later, earlier) -> np.ndarray:
    return (later - earlier).astype("timedelta64[D]").astype(float) / 7.0


@transaction.atomic
def btyd_fit_tenant(*, tenant: Tenant, as_of: date | None = None) -> BTYDFit:
    """Fit BG/NBD + Gamma-Gamma on the tenant's history and store per-customer predictions.

    Holdout check: the same model is first fitted on the history up to `as_of − 52 weeks` and its
    predicted repeat transactions over the last 52 weeks compared with the actual number.
    Customers with fewer than two transaction days get `insufficient_history` and no numbers.
    """
    as_of = as_of or timezone.localdate()
    conf = analytics_settings_get(tenant=tenant)
    cal_end = as_of - timedelta(weeks=HOLDOUT_WEEKS)
    rows = _btyd_rows(tenant=tenant, source=conf.source, as_of=as_of, calibration_end=cal_end)
    fit = BTYDFit(tenant=tenant, fitted_at=timezone.now(), as_of=as_of, holdout_weeks=HOLDOUT_WEEKS)
    CustomerLTV.objects.for_tenant(tenant).delete()
    if rows:
        ids = np.array([r[0] for r in rows])
        first = np.array([r[1] for r in rows], dtype="datetime64[D]")
        last = np.array([r[2] for r in rows], dtype="datetime64[D]")
        n = np.array([r[3] for r in rows], dtype=float)
        total = np.array([r[4] for r in rows], dtype=float)
        first_amt = np.array([r[5] for r in rows], dtype=float)
        cal_last = np.array([r[6] or r[1] for r in rows], dtype="datetime64[D]")
        cal_n = np.array([r[7] for r in rows], dtype=float)
        hold_n = np.array([r[8] for r in rows], dtype=float)
        today = np.datetime64(as_of, "D")
        x, t_x, T = n - 1, _weeks(last, first), _weeks(today, first)
        m = np.where(x > 0, (total - first_amt) / np.maximum(x, 1), 0.0)
    else:
        ids = x = np.array([])
    fit.n_customers = len(ids)
    fit.n_repeat = int((x > 0).sum()) if len(ids) else 0
    if fit.n_repeat < MIN_REPEAT_CUSTOMERS_FOR_FIT:
        fit.status = FitStatus.INSUFFICIENT
        fit.message = (
            f"{fit.n_repeat} customers with a repeat purchase; at least {MIN_REPEAT_CUSTOMERS_FOR_FIT} needed"
        )
        fit.full_clean()
        fit.save()
        _store_ltv(tenant=tenant, fit=fit, ids=ids, insufficient=np.ones(len(ids), bool))
        return fit
    try:
        bg = btyd.fit_bgnbd(x, t_x, T)
        spenders = (x > 0) & (m > 0)
        gg = btyd.fit_gamma_gamma(x[spenders], m[spenders])
        in_cal = first <= np.datetime64(cal_end, "D")
        if (cal_n[in_cal] > 1).sum() >= MIN_REPEAT_CUSTOMERS_FOR_FIT:
            cx = cal_n[in_cal] - 1
            cal_bg = btyd.fit_bgnbd(
                cx,
                _weeks(cal_last[in_cal], first[in_cal]),
                _weeks(np.datetime64(cal_end, "D"), first[in_cal]),
            )
            fit.holdout_predicted = float(
                btyd.expected_purchases(
                    cal_bg,
                    HOLDOUT_WEEKS,
                    cx,
                    _weeks(cal_last[in_cal], first[in_cal]),
                    _weeks(np.datetime64(cal_end, "D"), first[in_cal]),
                ).sum()
            )
            fit.holdout_actual = int(hold_n[in_cal].sum())
            fit.holdout_customers = int(in_cal.sum())
    except (ArithmeticError, ValueError, FloatingPointError) as exc:
        logger.warning("BTYD fit failed for tenant %s: %s", tenant.pk, exc)
        fit.status, fit.message = FitStatus.FAILED, str(exc)[:300]
        fit.full_clean()
        fit.save()
        _store_ltv(tenant=tenant, fit=fit, ids=ids, insufficient=np.ones(len(ids), bool))
        return fit
    fit.status = FitStatus.OK
    fit.r, fit.alpha, fit.a, fit.b = bg.r, bg.alpha, bg.a, bg.b
    fit.p, fit.q, fit.gamma = gg.p, gg.q, gg.gamma
    fit.full_clean()
    fit.save()
    insufficient = x < 1
    purchases = btyd.expected_purchases(bg, 52.0, x, t_x, T)
    alive = btyd.p_alive(bg, x, t_x, T)
    spend = btyd.expected_spend(gg, x, m)
    value = btyd.discounted_value(bg, spend, x, t_x, T, annual_rate=conf.annual_discount_rate)
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
    """Write one CustomerLTV row per customer with multi-row INSERTs built from the numpy arrays.

    Plain tuples instead of model instances: building 100k model objects for `bulk_create` took
    longer than the fit itself. NaN/inf and insufficient-history customers become NULL.
    """

    def column(arr):
        if arr is None:
            return [None] * len(ids)
        out = np.asarray(arr, dtype=float).astype(object)
        out[insufficient | ~np.isfinite(np.asarray(arr, dtype=float))] = None
        return out.tolist()

    table = CustomerLTV._meta.db_table
    rows = list(
        zip(
            [tenant.pk] * len(ids),
            [fit.pk] * len(ids),
            [int(i) for i in ids],
            [bool(b) for b in insufficient],
            column(purchases),
            column(alive),
            column(value),
            strict=True,
        )
    )
    for start in range(0, len(rows), LTV_BATCH_SIZE):
        batch = rows[start : start + LTV_BATCH_SIZE]
        placeholders = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(batch))
        execute(
            f"INSERT INTO {table} (tenant_id, fit_id, customer_id, insufficient_history, "
            f"expected_purchases_12m, p_alive, expected_value_12m) VALUES {placeholders}",
            [v for row in batch for v in row],
        )


def analytics_refresh_tenant(*, tenant: Tenant, as_of: date | None = None, fit: bool = True) -> dict:
    """The nightly refresh of one tenant: RFM + snapshot, monthly KPIs, and (optionally) the BTYD fit."""
    as_of = as_of or timezone.localdate()
    result = {
        "rfm_rows": rfm_refresh(tenant=tenant, as_of=as_of),
        "kpi_months": kpi_refresh(tenant=tenant, as_of=as_of),
    }
    if fit:
        result["btyd_status"] = btyd_fit_tenant(tenant=tenant, as_of=as_of).status
    return result
