# ruff: noqa: S608 -- SQL text is built from model _meta names and fixed fragments; every value is bound.
"""RFM scoring and segmentation of one tenant in one INSERT … SELECT (docs/architecture.md, "RFM scoring").

Definitions (as of date A, window of W months, i.e. transactions dated in (A − W months, A]):
* a *transaction day* is a (customer, date) with at least one non-refund row; a day that holds only
  refunds is not a transaction day (the customer did not come to buy), but its amount still counts;
* Recency = days from the last transaction day to A; Frequency = number of transaction days;
  Monetary = net amount of all rows in the window (refunds reduce it); average = Monetary ÷ Frequency
  (whole yen, truncated toward zero);
* score = 1 + ⌊5 × (customers with a strictly worse value) ÷ n⌋ over the n customers with at least
  one transaction day. Equal values have equal ranks (RANK()), so ties are never split by row order;
* customers without a transaction day in the window are stored with segment `no_purchase` and no scores.
"""

from __future__ import annotations

from datetime import date

from dateutil.relativedelta import relativedelta
from django.db import connection
from django.utils import timezone

from analytics.models import CustomerRFM, SegmentSnapshot
from analytics.sql import date_param, days_between, execute, transactions_cte
from customers.models import Customer


def window_start(as_of: date, window_months: int) -> date:
    """Exclusive lower bound of the RFM window."""
    return as_of - relativedelta(months=window_months)


def _score(rank: str) -> str:
    return f"(1 + (5 * ({rank} - 1)) / n)"


def rfm_scores_cte(*, tenant_id: int, as_of: date, window_months: int, source: str) -> tuple[str, list]:
    """`WITH …, scores AS (…)`: one row per customer of the tenant with its R/F/M values and scores.

    Shared by the refresh (INSERT … SELECT) and the benchmark (which runs the same text on DuckDB).
    """
    start = window_start(as_of, window_months)
    tx, tx_params = transactions_cte(source=source, tenant_id=tenant_id, until=as_of)
    customer = Customer._meta.db_table
    d = date_param()
    sql = f"""
    WITH {tx},
    days AS (
        SELECT customer_id, d, SUM(amount) AS amount, SUM(gross_profit) AS gp,
               MAX(CASE WHEN is_refund THEN 0 ELSE 1 END) AS is_tx
        FROM tx GROUP BY customer_id, d
    ),
    agg AS (
        SELECT customer_id,
               MAX(CASE WHEN is_tx = 1 AND d > {d} THEN d END) AS last_d,
               SUM(CASE WHEN is_tx = 1 AND d > {d} THEN 1 ELSE 0 END) AS freq,
               CAST(SUM(CASE WHEN d > {d} THEN amount ELSE 0 END) AS BIGINT) AS monetary,
               CAST(SUM(amount) AS BIGINT) AS revenue, CAST(SUM(gp) AS BIGINT) AS gp,
               SUM(is_tx) AS tx_all, MIN(CASE WHEN is_tx = 1 THEN d END) AS first_d
        FROM days GROUP BY customer_id
    ),
    base AS (
        SELECT c.id AS customer_id, a.last_d, COALESCE(a.freq, 0) AS freq,
               COALESCE(a.monetary, 0) AS monetary,
               COALESCE(a.revenue, 0) AS revenue, COALESCE(a.gp, 0) AS gp, COALESCE(a.tx_all, 0) AS tx_all,
               a.first_d, CASE WHEN COALESCE(a.freq, 0) > 0 THEN 1 ELSE 0 END AS scored
        FROM {customer} c LEFT JOIN agg a ON a.customer_id = c.id
        WHERE c.tenant_id = %s
    ),
    ranked AS (
        SELECT base.*,
               RANK() OVER (PARTITION BY scored ORDER BY last_d) AS r_rank,
               RANK() OVER (PARTITION BY scored ORDER BY freq) AS f_rank,
               RANK() OVER (PARTITION BY scored ORDER BY monetary) AS m_rank,
               COUNT(*) OVER (PARTITION BY scored) AS n
        FROM base
    ),
    scores AS (
        SELECT ranked.*, {_score("r_rank")} AS r_score, {_score("f_rank")} AS f_score,
               {_score("m_rank")} AS m_score
        FROM ranked
    )
    """
    return sql, [*tx_params, start, start, start, tenant_id]


def rfm_refresh_sql(
    *, tenant_id: int, as_of: date, window_months: int, source: str, segment_map: dict[str, str]
) -> int:
    """Replace the tenant's CustomerRFM rows; returns the number of rows written.

    The caller wraps this in a transaction (delete + insert must be atomic).
    """
    with_sql, with_params = rfm_scores_cte(
        tenant_id=tenant_id, as_of=as_of, window_months=window_months, source=source
    )
    rfm = CustomerRFM._meta.db_table
    cases, case_params = [], []
    for cell, segment in sorted(segment_map.items()):
        cases.append("WHEN %s THEN %s")
        case_params += [int(cell), segment]
    segment_sql = f"CASE WHEN scored = 1 THEN CASE r_score * 10 + f_score {' '.join(cases)} END ELSE %s END"
    d = date_param()
    sql = f"""
    INSERT INTO {rfm} (tenant_id, customer_id, as_of, computed_at, last_transaction, recency_days, frequency,
        monetary, average, r_score, f_score, m_score, segment, revenue_to_date, gross_profit_to_date,
        transactions_to_date, first_transaction)
    {with_sql}
    SELECT %s, customer_id, {d}, %s, last_d,
           CASE WHEN scored = 1 THEN {days_between(d, "last_d")} END,
           freq, monetary, CASE WHEN scored = 1 THEN monetary / freq END,
           CASE WHEN scored = 1 THEN r_score END, CASE WHEN scored = 1 THEN f_score END,
           CASE WHEN scored = 1 THEN m_score END, {segment_sql}, revenue, gp, tx_all, first_d
    FROM scores
    """
    params = [
        *with_params,
        tenant_id,
        as_of,
        connection.ops.adapt_datetimefield_value(timezone.now()),
        as_of,
        *case_params,
        "no_purchase",
    ]
    execute(f"DELETE FROM {rfm} WHERE tenant_id = %s", [tenant_id])
    return execute(sql, params)


def snapshot_sql(*, tenant_id: int, month: date) -> int:
    """Copy the tenant's current segments into the snapshot of `month` (replacing an earlier one)."""
    snap, rfm = SegmentSnapshot._meta.db_table, CustomerRFM._meta.db_table
    execute(f"DELETE FROM {snap} WHERE tenant_id = %s AND month = %s", [tenant_id, month])
    return execute(
        f"INSERT INTO {snap} (tenant_id, month, customer_id, segment) "
        f"SELECT tenant_id, %s, customer_id, segment FROM {rfm} WHERE tenant_id = %s",
        [month, tenant_id],
    )
