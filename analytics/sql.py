# ruff: noqa: S608 -- SQL text is built from model _meta names and fixed fragments; every value is bound.
"""Portable SQL building blocks for the analytics queries (PostgreSQL and SQLite).

Why raw SQL here: every metric works on the union of purchases and service records (the tenant
chooses which), and needs window functions over that union, plus `INSERT … SELECT` to write the
results in the same statement. The ORM can express neither a window over a UNION nor INSERT …
SELECT, so these few queries are written once in the SQL subset both databases share; the two
dialect differences (date difference, month index) are isolated in the helpers below. Table and
column names come from the models' `_meta`, and every value is a bound parameter.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

from analytics.models import TransactionSource
from customers.models import Customer, Purchase, ServiceRecord


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def days_between(later: str, earlier: str) -> str:
    """SQL for the whole number of days from `earlier` to `later` (two date expressions)."""
    if is_postgres():
        return f"(({later})::date - ({earlier})::date)"
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"


def month_index(col: str) -> str:
    """SQL for year * 12 + month - 1 of a date: consecutive months are consecutive integers."""
    if is_postgres():
        # date_part (double precision) rather than EXTRACT, which returns numeric since PostgreSQL 14
        # and costs twice as much per row: the refreshes compute this for about a million rows.
        return (
            f"(CAST(date_part('year', {col}) AS INTEGER) * 12"
            f" + CAST(date_part('month', {col}) AS INTEGER) - 1)"
        )
    return f"(CAST(strftime('%%Y', {col}) AS INTEGER) * 12 + CAST(strftime('%%m', {col}) AS INTEGER) - 1)"


def date_param() -> str:
    """A bound date parameter, typed so PostgreSQL can do date arithmetic on it."""
    return "CAST(%s AS DATE)" if is_postgres() else "%s"


def transactions_cte(*, source: str, tenant_id: int, until, staff_id: int | None = None) -> tuple[str, list]:
    """`tx(customer_id, d, amount, gross_profit, is_refund)`: a tenant's transactions up to `until`.

    A refund is a purchase row with a negative amount; service records are never refunds.
    With `staff_id`, only customers assigned to that staff member.
    """
    purchase, service, customer = (
        Purchase._meta.db_table,
        ServiceRecord._meta.db_table,
        Customer._meta.db_table,
    )
    parts, params = [], []
    staff_join = ""
    if staff_id is not None:
        staff_join = f" JOIN {customer} sc ON sc.id = t.customer_id AND sc.assigned_staff_id = %s"
    if source in (TransactionSource.PURCHASES, TransactionSource.BOTH):
        parts.append(
            f"SELECT t.customer_id, t.date AS d, t.amount, t.gross_profit, t.is_refund FROM {purchase} t"
            f"{staff_join} WHERE t.tenant_id = %s AND t.date <= %s"
        )
        params += ([staff_id] if staff_id is not None else []) + [tenant_id, until]
    if source in (TransactionSource.SERVICES, TransactionSource.BOTH):
        parts.append(
            "SELECT t.customer_id, t.date AS d, t.amount, t.gross_profit, FALSE AS is_refund"
            f" FROM {service} t"
            f"{staff_join} WHERE t.tenant_id = %s AND t.date <= %s"
        )
        params += ([staff_id] if staff_id is not None else []) + [tenant_id, until]
    return "tx AS (" + " UNION ALL ".join(parts) + ")", params


# Memory for the refresh's sorts and hash aggregations (1M transactions need ~100 MB to stay off
# disk); set for the refresh transaction only, never for the whole server.
REFRESH_WORK_MEM = "128MB"


def tune_refresh_transaction() -> None:
    """PostgreSQL settings for the current (refresh) transaction only (`SET LOCAL`).

    * work_mem: the scoring query's aggregations and window sorts run in memory;
    * synchronous_commit off: the rows are derived data, recomputable at any time, so the commit
      need not wait for the WAL flush (a crash can lose at most the last refresh, never corrupt);
    * no nested-loop joins: every join here pairs all of a tenant's customers with all of them, and
      the statistics of the derived tables are often stale (the application role may not ANALYZE
      tables it does not own), so a row estimate of 1 would turn a join of 100,000 rows into
      100,000 scans; a hash join is right whatever the estimate.
    * no JIT: disabling nested loops adds a huge cost penalty to every plan that considers one, which
      pushes the estimate past the JIT thresholds; compiling the expressions then took ~0.7 s, longer
      than running the whole scoring query.
    """
    if not is_postgres():
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('work_mem', %s, true)", [REFRESH_WORK_MEM])
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute("SET LOCAL enable_nestloop = off")
        cursor.execute("SET LOCAL jit = off")


@contextmanager
def planner_settings(**settings: str) -> Iterator[None]:
    """PostgreSQL planner settings (`enable_sort="off"` …) for the statements inside the block only;
    the previous values come back after it. Inside a transaction (the settings are transaction-local);
    nothing on SQLite."""
    if not is_postgres():
        yield
        return
    with connection.cursor() as cursor:
        previous = {}
        for name, value in settings.items():
            cursor.execute("SELECT current_setting(%s)", [name])
            previous[name] = cursor.fetchone()[0]
            cursor.execute("SELECT set_config(%s, %s, true)", [name, value])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for name, value in previous.items():
                cursor.execute("SELECT set_config(%s, %s, true)", [name, value])


def fetchall(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def execute(sql: str, params: list) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
