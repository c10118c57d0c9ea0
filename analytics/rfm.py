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
from analytics.sql import date_param, days_between, execute, fetchall, is_postgres, transactions_cte
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
    agg AS (
        SELECT customer_id,
               MAX(CASE WHEN NOT is_refund AND d > {d} THEN d END) AS last_d,
               COUNT(DISTINCT CASE WHEN NOT is_refund AND d > {d} THEN d END) AS freq,
               CAST(SUM(CASE WHEN d > {d} THEN amount ELSE 0 END) AS BIGINT) AS monetary,
               CAST(SUM(amount) AS BIGINT) AS revenue, CAST(SUM(gross_profit) AS BIGINT) AS gp,
               COUNT(DISTINCT CASE WHEN NOT is_refund THEN d END) AS tx_all,
               MIN(CASE WHEN NOT is_refund THEN d END) AS first_d
        FROM tx GROUP BY customer_id
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


# Columns of CustomerRFM written by the refresh, in the order the scoring SELECT produces them.
RFM_COLUMNS = [
    "tenant_id",
    "customer_id",
    "as_of",
    "computed_at",
    "last_transaction",
    "recency_days",
    "frequency",
    "monetary",
    "average",
    "r_score",
    "f_score",
    "m_score",
    "segment",
    "revenue_to_date",
    "gross_profit_to_date",
    "transactions_to_date",
    "first_transaction",
]
# Compared to decide whether a stored row changed (computed_at is not: it is the time of the change).
RFM_COMPARED = [c for c in RFM_COLUMNS if c not in ("tenant_id", "customer_id", "computed_at")]
NEW_SCORES = "analytics_rfm_new"  # temporary table of one refresh


def _distinct(left: str, right: str, columns: list[str]) -> str:
    """SQL: the row of `left` differs from the row of `right` in any of `columns` (NULL-safe)."""
    a = ", ".join(f"{left}.{c}" for c in columns)
    b = ", ".join(f"{right}.{c}" for c in columns)
    return f"({a}) IS DISTINCT FROM ({b})" if is_postgres() else f"({a}) IS NOT ({b})"


def _create_temp(name: str, select_sql: str, params: list) -> None:
    """A temporary table holding the result of `select_sql`, with planner statistics.

    The session owns its temporary tables, so ANALYZE works even for the application role.
    """
    execute(f"DROP TABLE IF EXISTS {name}", [])
    execute(f"CREATE TEMPORARY TABLE {name} AS {select_sql}", params)
    if is_postgres():
        execute(f"ANALYZE {name}", [])


def rfm_refresh_sql(
    *, tenant_id: int, as_of: date, window_months: int, source: str, segment_map: dict[str, str]
) -> dict[str, int]:
    """Bring the tenant's CustomerRFM rows up to date; returns counts (customers, changed rows).

    The caller wraps this in a transaction. The new scores go into a temporary table first (one
    scoring query), then only what differs is written: rows whose values changed are updated in
    place, new customers inserted, rows of vanished customers deleted. Updating in place keeps the
    customer and tenant keys, so PostgreSQL skips the foreign-key checks a delete + insert of every
    row costs, and unchanged rows (a second refresh the same day) are not rewritten at all.
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
    select = f"""
    {with_sql}
    SELECT CAST(%s AS BIGINT) AS tenant_id, customer_id, {d} AS as_of, %s AS computed_at,
           last_d AS last_transaction,
           CASE WHEN scored = 1 THEN {days_between(d, "last_d")} END AS recency_days,
           freq AS frequency, monetary, CASE WHEN scored = 1 THEN monetary / freq END AS average,
           CASE WHEN scored = 1 THEN r_score END AS r_score, CASE WHEN scored = 1 THEN f_score END AS f_score,
           CASE WHEN scored = 1 THEN m_score END AS m_score, {segment_sql} AS segment,
           revenue AS revenue_to_date, gp AS gross_profit_to_date, tx_all AS transactions_to_date,
           first_d AS first_transaction
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
    _create_temp(NEW_SCORES, select, params)
    cols = ", ".join(RFM_COLUMNS)
    customers = fetchall(f"SELECT COUNT(*) FROM {NEW_SCORES}", [])[0][0]
    deleted = execute(
        f"DELETE FROM {rfm} WHERE tenant_id = %s AND NOT EXISTS "
        f"(SELECT 1 FROM {NEW_SCORES} n WHERE n.customer_id = {rfm}.customer_id)",
        [tenant_id],
    )
    assignments = ", ".join(f"{c} = n.{c}" for c in [*RFM_COMPARED, "computed_at"])
    updated = execute(
        f"UPDATE {rfm} SET {assignments} FROM {NEW_SCORES} n "
        f"WHERE {rfm}.customer_id = n.customer_id AND {rfm}.tenant_id = %s "
        f"AND {_distinct(rfm, 'n', RFM_COMPARED)}",
        [tenant_id],
    )
    inserted = execute(
        f"INSERT INTO {rfm} ({cols}) SELECT {cols} FROM {NEW_SCORES} n "
        f"WHERE NOT EXISTS (SELECT 1 FROM {rfm} r WHERE r.customer_id = n.customer_id)",
        [],
    )
    execute(f"DROP TABLE {NEW_SCORES}", [])
    return {"customers": customers, "changed": deleted + updated + inserted}


def snapshot_sql(*, tenant_id: int, month: date) -> int:
    """Make the snapshot of `month` equal the tenant's current segments; returns the rows changed.

    Only differences are written (a segment that moved, a new customer, a vanished one), so the
    nightly refreshes after the first one of a month touch a few rows instead of every customer.
    """
    snap, rfm = SegmentSnapshot._meta.db_table, CustomerRFM._meta.db_table
    d = date_param()
    deleted = execute(
        f"DELETE FROM {snap} WHERE tenant_id = %s AND month = {d} AND NOT EXISTS (SELECT 1 FROM {rfm} r "
        f"WHERE r.tenant_id = {snap}.tenant_id AND r.customer_id = {snap}.customer_id)",
        [tenant_id, month],
    )
    updated = execute(
        f"UPDATE {snap} SET segment = r.segment FROM {rfm} r "
        f"WHERE {snap}.tenant_id = %s AND {snap}.month = {d} AND r.tenant_id = {snap}.tenant_id "
        f"AND r.customer_id = {snap}.customer_id AND r.segment <> {snap}.segment",
        [tenant_id, month],
    )
    inserted = execute(
        f"INSERT INTO {snap} (tenant_id, month, customer_id, segment) "
        f"SELECT r.tenant_id, {d}, r.customer_id, r.segment FROM {rfm} r WHERE r.tenant_id = %s "
        f"AND NOT EXISTS (SELECT 1 FROM {snap} s WHERE s.tenant_id = r.tenant_id AND s.month = {d} "
        f"AND s.customer_id = r.customer_id)",
        [month, tenant_id, month],
    )
    return deleted + updated + inserted
