# ruff: noqa: S608 -- SQL text is built from model _meta names and fixed fragments; every value is bound.
"""Leaving risk: valuable customers whose P(alive) fell since last month, or who are overdue against
their own rhythm (the median days between their visits). One SQL statement finds them; the month-ago
P(alive) comes from the snapshot the previous month's last run kept (`PAliveSnapshot`).

Valuable = in the shop's top deciles of 12-month value (the predicted LTV, or the yearly revenue to
date where analytics could not predict one), or in one of the RFM segments the shop picked.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

from django.db.models import Sum
from django.utils import timezone

from analytics.models import CustomerLTV, CustomerRFM
from analytics.sql import date_param, days_between, execute, fetchall
from crm.db.bulk import bulk_insert
from customers.models import Customer, Purchase, ServiceRecord
from opportunities.features import refresh_settings
from opportunities.models import CustomerLeavingRisk, PAliveSnapshot

# A fall of P(alive) by this much since last month puts a valuable customer on the list.
DROP_THRESHOLD = 0.10
# Overdue: at least this many days past the usual interval, and at least half an interval.
MIN_OVERDUE_DAYS = 30
LONG_GONE_DAYS = 365
SNAPSHOT_MONTHS_KEPT = 14
LEAVING_COLUMNS = [
    "tenant_id",
    "customer_id",
    "p_alive",
    "p_alive_month_ago",
    "overdue_days",
    "value",
    "expected_value",
    "facts",
    "scored_at",
]


def _previous_month(month: date) -> date:
    return (month - timedelta(days=1)).replace(day=1)


def snapshot_p_alive(*, tenant, as_of: date) -> int:
    """Keep this month's P(alive) of every customer (the last run of the month wins)."""
    month = as_of.replace(day=1)
    snapshots = PAliveSnapshot.objects.for_tenant(tenant)
    snapshots.filter(month=month).delete()
    oldest = month
    for _ in range(SNAPSHOT_MONTHS_KEPT):
        oldest = _previous_month(oldest)
    snapshots.filter(month__lt=oldest).delete()
    return execute(
        f"INSERT INTO {PAliveSnapshot._meta.db_table} (tenant_id, month, customer_id, p_alive)"
        f" SELECT tenant_id, {date_param()}, customer_id, p_alive FROM {CustomerLTV._meta.db_table}"
        " WHERE tenant_id = %s AND p_alive IS NOT NULL",
        [month, tenant.pk],
    )


def _candidates_sql(segments: list[str]) -> str:
    d = date_param()
    purchase, service = Purchase._meta.db_table, ServiceRecord._meta.db_table
    customer, ltv, rfm = Customer._meta.db_table, CustomerLTV._meta.db_table, CustomerRFM._meta.db_table
    snap = PAliveSnapshot._meta.db_table
    previous_day = "LAG(d) OVER (PARTITION BY customer_id ORDER BY d)"
    picked = f"rv.segment IN ({', '.join(['%s'] * len(segments))})" if segments else "1 = 0"
    return f"""
    WITH days AS (SELECT DISTINCT customer_id, d FROM (
             SELECT customer_id, date AS d FROM {purchase}
             WHERE tenant_id = %s AND date <= {d} AND NOT is_refund
             UNION ALL SELECT customer_id, date AS d FROM {service} WHERE tenant_id = %s AND date <= {d}) t),
    gaps AS (SELECT customer_id, {days_between("d", previous_day)} AS gap FROM days),
    ranked AS (SELECT customer_id, gap, ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY gap) AS rn,
                      COUNT(*) OVER (PARTITION BY customer_id) AS n FROM gaps WHERE gap IS NOT NULL),
    rhythm AS (SELECT customer_id, AVG(gap) AS usual, MAX(n) AS intervals FROM ranked
               WHERE rn IN ((n + 1) / 2, (n + 2) / 2) GROUP BY customer_id),
    last AS (SELECT customer_id, MAX(d) AS last_d FROM days GROUP BY customer_id),
    valued AS (
        SELECT c.id AS customer_id, ltv.p_alive, snap.p_alive AS month_ago, rfm.segment,
               COALESCE(ltv.expected_value_12m, rfm.revenue_to_date * 365.0
                        / CASE WHEN {days_between(d, "rfm.first_transaction")} > 365
                               THEN {days_between(d, "rfm.first_transaction")} ELSE 365 END) AS value
        FROM {customer} c
        LEFT JOIN {ltv} ltv ON ltv.customer_id = c.id AND ltv.tenant_id = c.tenant_id
        LEFT JOIN {rfm} rfm ON rfm.customer_id = c.id AND rfm.tenant_id = c.tenant_id
        LEFT JOIN {snap} snap ON snap.customer_id = c.id AND snap.tenant_id = c.tenant_id AND snap.month = {d}
        WHERE c.tenant_id = %s AND c.erased_at IS NULL),
    ranked_value AS (SELECT v.*, NTILE(10) OVER (ORDER BY v.value DESC, v.customer_id) AS decile
                     FROM valued v WHERE v.value > 0)
    SELECT rv.customer_id, rv.p_alive, rv.month_ago, rv.value, rv.decile, rv.segment, rh.usual, rh.intervals,
           {days_between(d, "last.last_d")} AS since
    FROM ranked_value rv
    LEFT JOIN rhythm rh ON rh.customer_id = rv.customer_id
    LEFT JOIN last ON last.customer_id = rv.customer_id
    WHERE (rv.decile <= %s OR {picked})
    """


def _risk_row(tenant_id: int, row: tuple, scored_at, margin_ratio: float) -> tuple | None:
    customer_id, p_alive, month_ago, value, decile, segment, usual, intervals, since = row
    value, usual = float(value), None if usual is None else float(usual)  # numeric on PostgreSQL
    dropped = p_alive is not None and month_ago is not None and month_ago - p_alive >= DROP_THRESHOLD
    overdue = None
    if usual is not None and since is not None and intervals and intervals >= 2:
        overdue = int(since - round(usual))
    # Overdue, but not long gone: past the usual interval, yet within three intervals (at least a year).
    is_overdue = (
        overdue is not None
        and overdue >= max(MIN_OVERDUE_DAYS, usual / 2)
        and since <= max(LONG_GONE_DAYS, 3 * usual)
    )
    if not (dropped or is_overdue):
        return None
    leave = 1 - p_alive if p_alive is not None else 0.5
    facts = {
        "value_12m": round(value),
        "decile": decile,
        "segment": segment or "",
        "reasons": [name for name, hit in (("p_alive_drop", dropped), ("overdue", is_overdue)) if hit],
        "days_since_visit": since,
    }
    if usual is not None and intervals and intervals >= 2:
        facts["usual_interval_days"], facts["overdue_days"] = round(usual), overdue
    if p_alive is not None:
        facts["p_alive"] = round(p_alive, 4)
    if month_ago is not None:
        facts["p_alive_month_ago"] = round(month_ago, 4)
    stake = round(value * margin_ratio * leave)
    return (
        tenant_id,
        customer_id,
        p_alive,
        month_ago,
        overdue,
        round(value),
        stake,
        json.dumps(facts),
        scored_at,
    )


def gross_margin_ratio(*, tenant) -> float:
    """The shop's gross profit per yen of revenue, so a customer's value compares with a vehicle's margin."""
    totals = CustomerRFM.objects.for_tenant(tenant).aggregate(
        gp=Sum("gross_profit_to_date"), rev=Sum("revenue_to_date")
    )
    if not totals["rev"] or not totals["gp"] or totals["gp"] <= 0:
        return 1.0
    return min(1.0, totals["gp"] / totals["rev"])


def leaving_risk_write(*, tenant, as_of: date, top_deciles: int, segments: list[str]) -> int:
    """Replace the shop's leaving-risk rows (call inside a transaction, after the snapshot of the month).

    `value` is the customer's 12-month revenue; `expected_value` is the gross profit at stake:
    value × the shop's gross margin × P(leaving) (1 − P(alive), or one half without a P(alive)), in
    the same unit as a replacement's probability × margin, so the weekly list can rank both."""
    params = [tenant.pk, as_of, tenant.pk, as_of]
    params += [as_of] * 2 + [_previous_month(as_of.replace(day=1)), tenant.pk, as_of, top_deciles]
    params += list(segments)
    with refresh_settings():  # hash joins whatever the (often stale) statistics of derived tables say
        rows = fetchall(_candidates_sql(list(segments)), params)
    now = timezone.now()
    ratio = gross_margin_ratio(tenant=tenant)
    risks = [r for r in (_risk_row(tenant.pk, row, now, ratio) for row in rows) if r is not None]
    CustomerLeavingRisk.objects.for_tenant(tenant).delete()
    return bulk_insert(CustomerLeavingRisk, LEAVING_COLUMNS, risks)
