# ruff: noqa: S608 -- SQL text is built from model _meta names and fixed fragments; every value is bound.
"""Conversion and cohorts: new → repeat → loyal with the days between stages, and retention per
first-purchase cohort. Set-based SQL over the transactions CTE, medians with numpy."""

from __future__ import annotations

from datetime import date

import numpy as np
from dateutil.relativedelta import relativedelta
from django.utils import timezone

from analytics.kpi import index_of, month_of
from analytics.services import analytics_settings_get
from analytics.sql import days_between, fetchall, month_index, transactions_cte
from crm.models import Tenant

DAYS_PER_MONTH = 30.4375


def conversion_funnel(*, tenant: Tenant, as_of: date | None = None) -> dict:
    """Stage conversion: new → repeat within N months → loyal (≥ L transaction days).

    N = settings.repeat_within_months (counted as N × 30.4375 days), L = settings.loyal_min_transactions.
    Median days between stages and retention by stage (share of customers at each stage whose last
    transaction is within the churn horizon) are included. One query; medians with numpy.
    """
    as_of = as_of or timezone.localdate()
    conf = analytics_settings_get(tenant=tenant)
    tx, params = transactions_cte(source=conf.source, tenant_id=tenant.pk, until=as_of)
    loyal = int(conf.loyal_min_transactions)
    sql = f"""
    WITH {tx},
    days AS (SELECT DISTINCT customer_id, d FROM tx WHERE NOT is_refund),
    num AS (SELECT customer_id, d, ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY d) AS k FROM days),
    st AS (
        SELECT customer_id, MAX(CASE WHEN k = 1 THEN d END) AS d1, MAX(CASE WHEN k = 2 THEN d END) AS d2,
               MAX(CASE WHEN k = {loyal} THEN d END) AS dl, MAX(d) AS last_d, COUNT(*) AS n
        FROM num GROUP BY customer_id
    )
    SELECT n, {days_between("d2", "d1")}, {days_between("dl", "d2")}, {days_between("%s", "last_d")}
    FROM st
    """
    rows = fetchall(sql, [*params, as_of])
    horizon_days = (as_of - (as_of - relativedelta(months=tenant.churn_horizon_months))).days
    repeat_days = int(conf.repeat_within_months * DAYS_PER_MONTH)
    if rows:
        arr = np.array(
            [[r[0], -1 if r[1] is None else r[1], -1 if r[2] is None else r[2], r[3]] for r in rows]
        )
        n, gap1, gap2, since = arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3]
    else:
        n = gap1 = gap2 = since = np.array([])
    active = since <= horizon_days
    repeat_in_time = (n >= 2) & (gap1 <= repeat_days) & (gap1 >= 0)
    stages = {"new": n == 1, "repeat": (n >= 2) & (n < loyal), "loyal": n >= loyal}

    def median(values):
        return float(np.median(values)) if len(values) else None

    return {
        "customers": len(n),
        "repeat_within_months": conf.repeat_within_months,
        "loyal_min_transactions": loyal,
        "repeat_in_time": int(repeat_in_time.sum()),
        "repeat_rate": float(repeat_in_time.mean()) if len(n) else None,
        "repeat_any": int((n >= 2).sum()),
        "loyal": int((n >= loyal).sum()),
        "loyal_rate_of_repeat": float((n >= loyal).sum() / (n >= 2).sum()) if (n >= 2).sum() else None,
        "median_days_first_to_repeat": median(gap1[n >= 2]),
        "median_days_repeat_to_loyal": median(gap2[n >= loyal]),
        "retention_by_stage": [
            {
                "stage": stage,
                "customers": int(mask.sum()),
                "active": int((mask & active).sum()),
                "retention": float((mask & active).sum() / mask.sum()) if mask.sum() else None,
            }
            for stage, mask in stages.items()
        ],
    }


def cohort_retention(*, tenant: Tenant, as_of: date | None = None, months: int = 24) -> list[dict]:
    """Cohorts by first-transaction month (the last `months` cohorts): size and, for each month offset
    k = 0, 1, …, the number and share of the cohort with a transaction in month cohort + k."""
    as_of = as_of or timezone.localdate()
    conf = analytics_settings_get(tenant=tenant)
    tx, params = transactions_cte(source=conf.source, tenant_id=tenant.pk, until=as_of)
    sql = f"""
    WITH {tx},
    cm AS (SELECT DISTINCT customer_id, {month_index("d")} AS mi FROM tx WHERE NOT is_refund),
    firsts AS (SELECT customer_id, MIN(mi) AS f FROM cm GROUP BY customer_id)
    SELECT firsts.f, cm.mi - firsts.f, COUNT(*)
    FROM cm JOIN firsts ON firsts.customer_id = cm.customer_id
    WHERE firsts.f >= %s
    GROUP BY firsts.f, cm.mi - firsts.f
    """
    first_index = index_of(as_of) - months + 1
    cohorts: dict[int, dict[int, int]] = {}
    for f, k, c in fetchall(sql, [*params, first_index]):
        cohorts.setdefault(int(f), {})[int(k)] = int(c)
    result = []
    for f in sorted(cohorts):
        size = cohorts[f].get(0, 0)
        width = index_of(as_of) - f + 1
        counts = [cohorts[f].get(k, 0) for k in range(width)]
        result.append(
            {
                "cohort": month_of(f),
                "size": size,
                "active": counts,
                "retention": [c / size if size else None for c in counts],
            }
        )
    return result
