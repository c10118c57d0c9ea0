# ruff: noqa: S608 -- SQL text is built from model _meta names and fixed fragments; every value is bound.
"""The monthly KPI tree: sales = customers × frequency × unit price, plus new/returning/churned/active.

Definitions (documented in docs/architecture.md, "KPI tree"):
* months are calendar months; a *transaction* is a customer-day with at least one non-refund row;
* sales = sum of non-refund amounts; refunds are reported beside the tree (net = sales + refunds), so
  the identity sales = customers × (transactions ÷ customers) × (sales ÷ transactions) is exact;
* customers = distinct customers with a transaction in the month = new (first transaction ever) + returning;
* churn works on whole months with horizon H = Tenant.churn_horizon_months: a customer whose last
  transaction month is p and whose next one is later than p + H (or never) churns in month p + H;
  buying again after that is a *reactivation*; active base(m) = Σ_{≤m} (new + reactivated − churned),
  i.e. the customers with a transaction in the H months ending with m.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date

from analytics.sql import fetchall, month_index, transactions_cte


def month_of(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


def index_of(d: date) -> int:
    return d.year * 12 + d.month - 1


def monthly_series(
    *, tenant_id: int, source: str, as_of: date, horizon_months: int, staff_id: int | None = None
) -> list[dict]:
    """KPI figures for every month from the first transaction month to the month of `as_of`.

    One query (a UNION ALL of three GROUP BYs over the same CTEs); the cumulative active base is a
    running sum over months in Python (one step per month, never per customer).
    """
    tx, params = transactions_cte(source=source, tenant_id=tenant_id, until=as_of, staff_id=staff_id)
    h = int(horizon_months)
    sql = f"""
    WITH {tx},
    cm AS (
        SELECT customer_id, {month_index("d")} AS mi,
               CAST(SUM(CASE WHEN is_refund THEN 0 ELSE amount END) AS BIGINT) AS sales,
               CAST(SUM(CASE WHEN is_refund THEN amount ELSE 0 END) AS BIGINT) AS refunds,
               COUNT(DISTINCT CASE WHEN is_refund THEN NULL ELSE d END) AS tx_days
        FROM tx GROUP BY customer_id, {month_index("d")}
    ),
    act AS (
        SELECT customer_id, mi,
               LAG(mi) OVER (PARTITION BY customer_id ORDER BY mi) AS prev_mi,
               LEAD(mi) OVER (PARTITION BY customer_id ORDER BY mi) AS next_mi
        FROM cm WHERE tx_days > 0
    )
    SELECT 'm', mi, CAST(SUM(sales) AS BIGINT), CAST(SUM(refunds) AS BIGINT), SUM(tx_days),
           SUM(CASE WHEN tx_days > 0 THEN 1 ELSE 0 END)
    FROM cm GROUP BY mi
    UNION ALL
    SELECT 'a', mi, SUM(CASE WHEN prev_mi IS NULL THEN 1 ELSE 0 END),
           SUM(CASE WHEN prev_mi IS NOT NULL AND mi - prev_mi > {h} THEN 1 ELSE 0 END), 0, 0
    FROM act GROUP BY mi
    UNION ALL
    SELECT 'c', mi + {h}, COUNT(*), 0, 0, 0
    FROM act WHERE next_mi IS NULL OR next_mi > mi + {h} GROUP BY mi + {h}
    """
    rows = fetchall(sql, params)
    if not rows:
        return []
    last = index_of(as_of)
    by_month: dict[int, dict] = defaultdict(
        lambda: {
            "sales": 0,
            "refunds": 0,
            "transactions": 0,
            "customers": 0,
            "new": 0,
            "reactivated": 0,
            "churned": 0,
        }
    )
    for kind, mi, v1, v2, v3, v4 in rows:
        mi = int(mi)
        if mi > last:
            continue  # a churn that has not happened yet
        row = by_month[mi]
        if kind == "m":
            row.update(
                sales=int(v1 or 0), refunds=int(v2 or 0), transactions=int(v3 or 0), customers=int(v4 or 0)
            )
        elif kind == "a":
            row.update(new=int(v1 or 0), reactivated=int(v2 or 0))
        else:
            row["churned"] = int(v1 or 0)
    first = min(by_month)
    series, active = [], 0
    for mi in range(first, last + 1):
        row = by_month.get(mi) or by_month.default_factory()
        active += row["new"] + row["reactivated"] - row["churned"]
        series.append(
            {
                "month": month_of(mi),
                "sales": row["sales"],
                "refunds": row["refunds"],
                "transactions": row["transactions"],
                "customers": row["customers"],
                "new_customers": row["new"],
                "returning_customers": row["customers"] - row["new"],
                "reactivated": row["reactivated"],
                "churned": row["churned"],
                "active_base": active,
            }
        )
    return series


def _log_mean(a: float, b: float) -> float:
    if a == b:
        return a
    return (a - b) / (math.log(a) - math.log(b))


def lmdi(before: dict | None, after: dict) -> dict | None:
    """Split the sales change between two months into customer, frequency and unit-price effects.

    Additive LMDI-I (Ang 2004): with V = C·F·P and L(x, y) = (x − y) / (ln x − ln y),
    effect_X = L(V1, V0) · ln(X1 / X0); the three effects sum to V1 − V0 exactly. When either month
    has no sales (V = 0), logarithms are undefined: the whole change is attributed to customers if
    either month had no customers, else to unit price (all sales were zero-yen transactions).
    """
    if before is None:
        return None
    v0, v1 = before["sales"], after["sales"]
    delta = v1 - v0
    result = {"change": delta, "customers": 0.0, "frequency": 0.0, "unit_price": 0.0}
    if v0 > 0 and v1 > 0:
        weight = _log_mean(float(v1), float(v0))
        c0, c1 = before["customers"], after["customers"]
        f0, f1 = before["transactions"] / c0, after["transactions"] / c1
        p0, p1 = v0 / before["transactions"], v1 / after["transactions"]
        result["customers"] = weight * math.log(c1 / c0)
        result["frequency"] = weight * math.log(f1 / f0)
        result["unit_price"] = weight * math.log(p1 / p0)
    elif delta != 0:
        key = "customers" if before["customers"] == 0 or after["customers"] == 0 else "unit_price"
        result[key] = float(delta)
    effects = {k: result[k] for k in ("customers", "frequency", "unit_price")}
    result["main_driver"] = max(effects, key=lambda k: abs(effects[k])) if delta != 0 else None
    return result


def with_ratios(row: dict) -> dict:
    """Add frequency (transactions ÷ customers) and unit price (sales ÷ transactions); None when undefined."""
    c, t = row["customers"], row["transactions"]
    return {
        **row,
        "net_revenue": row["sales"] + row["refunds"],
        "frequency": t / c if c else None,
        "unit_price": row["sales"] / t if t else None,
        "new_share": row["new_customers"] / c if c else None,
    }
