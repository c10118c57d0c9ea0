# ruff: noqa: S608 -- SQL text is built from model _meta names and fixed fragments; every value is bound.
"""The two set-based queries of results: the reminder funnel and the treated / held-out outcomes.

Both read a tenant's reminders due up to the as-of date (booking messages are transactional, not
reminders, and are left out) and its visits: service records and purchases (not refunds), with their
amounts. A visit counts for a reminder when it is dated within [due date, due date + the rule's
attribution days]. Definitions in docs/analytics.md ("Results of reminders").
"""

from __future__ import annotations

from datetime import date, timedelta

from analytics.sql import date_param, fetchall, is_postgres, month_index
from bookings.models import Booking, BookingStatus
from customers.models import Purchase, ServiceRecord
from reminders.models import TRANSACTIONAL_KINDS, Reminder, ReminderRule, ReminderStatus

MAX_ATTRIBUTION_DAYS = 365  # ReminderRule.attribution_days is validated to at most this


def _until(due: str, days: str) -> str:
    """SQL: a date column plus a whole-days integer column."""
    if is_postgres():
        return f"({due} + {days})"
    return f"date({due}, '+' || {days} || ' days')"


def _float() -> str:
    return "DOUBLE PRECISION" if is_postgres() else "REAL"


def _visits_cte() -> str:
    """`visits(customer_id, d, amount)` between two bound dates (the reminders' first due date and the
    last one + the longest window), so years of older history are not joined at all."""
    purchase, service = Purchase._meta.db_table, ServiceRecord._meta.db_table
    d = date_param()
    return f"""visits AS (
        SELECT customer_id, date AS d, amount FROM {purchase}
        WHERE tenant_id = %s AND NOT is_refund AND date BETWEEN {d} AND {d}
        UNION ALL
        SELECT customer_id, date, amount FROM {service} WHERE tenant_id = %s AND date BETWEEN {d} AND {d}
    )"""


def _visit_params(tenant_id: int, as_of: date) -> list | None:
    """The bound parameters of `_visits_cte`, or None when the tenant has no reminder due yet."""
    reminder = Reminder._meta.db_table
    sql = f"SELECT MIN(due_date), MAX(due_date) FROM {reminder} WHERE tenant_id = %s"
    sql += f" AND due_date <= {date_param()}"
    ((first, last),) = fetchall(sql, [tenant_id, as_of])
    if first is None:
        return None
    if isinstance(first, str):  # SQLite returns the aggregate of a date column as text
        first, last = date.fromisoformat(first), date.fromisoformat(last)
    until = last + timedelta(days=MAX_ATTRIBUTION_DAYS)
    return [tenant_id, first, until, tenant_id, first, until]


def _excluded_kinds() -> str:
    return ", ".join(f"'{k.value}'" for k in sorted(TRANSACTIONAL_KINDS))


def funnel_rows(*, tenant_id: int, as_of: date) -> list[dict]:
    """One dict per (rule, step, channel, due month): planned, sent, opened, clicked, booked, visited,
    revenue, counted per reminder.

    The counts of the reminders and their visits are grouped apart and joined by the group keys (a few
    hundred rows): only the reminder–visit pairs inside a window (far fewer than the reminders) are
    grouped, never every reminder joined back to its visits.
    """
    reminder, rule, booking = Reminder._meta.db_table, ReminderRule._meta.db_table, Booking._meta.db_table
    d = date_param()
    held, sent, cancelled = ReminderStatus.HELD_OUT, ReminderStatus.SENT, BookingStatus.CANCELLED
    keys = "rule_id, step, channel, mi"
    rem = f"""
        SELECT r.id, r.rule_id, r.step, r.channel, r.customer_id, r.due_date AS due,
               {_until("r.due_date", "rr.attribution_days")} AS until, {month_index("r.due_date")} AS mi,
               CASE WHEN r.status = '{sent}' THEN 1 ELSE 0 END AS sent,
               CASE WHEN r.opened_at IS NOT NULL THEN 1 ELSE 0 END AS opened,
               CASE WHEN r.clicked_at IS NOT NULL THEN 1 ELSE 0 END AS clicked
        FROM {reminder} r JOIN {rule} rr ON rr.id = r.rule_id
        WHERE r.tenant_id = %s AND r.status <> '{held}' AND r.due_date <= {d}
          AND rr.kind NOT IN ({_excluded_kinds()})"""
    # The reminders are read twice (`rem`, `rem_v`) rather than shared: a CTE read twice is materialised,
    # which keeps PostgreSQL from scanning and joining it in parallel.
    sql = f"""
    WITH rem AS ({rem}),
    rem_v AS ({rem}),
    {_visits_cte()},
    bk AS (
        SELECT DISTINCT reminder_id FROM {booking}
        WHERE tenant_id = %s AND reminder_id IS NOT NULL AND status <> '{cancelled}'
    ),
    counts AS (
        SELECT {keys}, COUNT(*) AS planned, SUM(sent) AS sent, SUM(opened) AS opened, SUM(clicked) AS clicked,
               SUM(CASE WHEN bk.reminder_id IS NULL THEN 0 ELSE 1 END) AS booked
        FROM rem LEFT JOIN bk ON bk.reminder_id = rem.id GROUP BY {keys}
    ),
    hits AS (
        SELECT rem.rule_id, rem.step, rem.channel, rem.mi, COUNT(DISTINCT rem.id) AS visited,
               SUM(v.amount) AS revenue
        FROM rem_v rem
        JOIN visits v ON v.customer_id = rem.customer_id AND v.d >= rem.due AND v.d <= rem.until
        GROUP BY rem.rule_id, rem.step, rem.channel, rem.mi
    )
    SELECT c.rule_id, c.step, c.channel, c.mi, c.planned, c.sent, c.opened, c.clicked, c.booked,
           COALESCE(h.visited, 0), CAST(COALESCE(h.revenue, 0) AS BIGINT)
    FROM counts c LEFT JOIN hits h
      ON h.rule_id = c.rule_id AND h.step = c.step AND h.channel = c.channel AND h.mi = c.mi
    """
    visit_params = _visit_params(tenant_id, as_of)
    if visit_params is None:
        return []
    rows = fetchall(sql, [tenant_id, as_of, tenant_id, as_of, *visit_params, tenant_id])
    keys = ("rule_id", "step", "channel", "mi", "planned", "sent", "opened", "clicked", "booked", "visited")
    return [dict(zip((*keys, "revenue"), (*row[:10], int(row[10])), strict=True)) for row in rows]


def uplift_rows(*, tenant_id: int, as_of: date) -> list[dict]:
    """One dict per (rule, month of the first due date, held out or not): eligible customers, how many
    visited in their window, their revenue and the sum of its squares.

    The unit is (rule, customer): held out when all of the customer's reminders of the rule are held
    out, treated when at least one is not (intention to treat: sent, skipped or failed alike). The
    window runs from the first due date to the last due date + the rule's attribution days, the same
    for both groups.
    """
    reminder, rule = Reminder._meta.db_table, ReminderRule._meta.db_table
    d = date_param()
    held = ReminderStatus.HELD_OUT
    units = f"""
        SELECT r.rule_id, r.customer_id, MIN(r.due_date) AS first_due,
               {_until("MAX(r.due_date)", "MAX(rr.attribution_days)")} AS until,
               MIN(CASE WHEN r.status = '{held}' THEN 1 ELSE 0 END) AS held_out
        FROM {reminder} r JOIN {rule} rr ON rr.id = r.rule_id
        WHERE r.tenant_id = %s AND r.due_date <= {d} AND rr.kind NOT IN ({_excluded_kinds()})
        GROUP BY r.rule_id, r.customer_id"""
    sql = f"""
    WITH units AS ({units}),
    {_visits_cte()},
    counts AS (
        SELECT rule_id, {month_index("first_due")} AS mi, held_out, COUNT(*) AS n FROM units
        GROUP BY rule_id, {month_index("first_due")}, held_out
    ),
    outcome AS (
        SELECT u.rule_id, {month_index("u.first_due")} AS mi, u.held_out, SUM(v.amount) AS revenue
        FROM units u JOIN visits v ON v.customer_id = u.customer_id AND v.d >= u.first_due AND v.d <= u.until
        GROUP BY u.rule_id, u.customer_id, u.first_due, u.held_out
    ),
    hits AS (
        SELECT rule_id, mi, held_out, COUNT(*) AS visited, SUM(revenue) AS revenue,
               SUM(CAST(revenue AS {_float()}) * CAST(revenue AS {_float()})) AS revenue_sq
        FROM outcome GROUP BY rule_id, mi, held_out
    )
    SELECT c.rule_id, c.mi, c.held_out, c.n, COALESCE(h.visited, 0), CAST(COALESCE(h.revenue, 0) AS BIGINT),
           COALESCE(h.revenue_sq, 0)
    FROM counts c LEFT JOIN hits h ON h.rule_id = c.rule_id AND h.mi = c.mi AND h.held_out = c.held_out
    """
    visit_params = _visit_params(tenant_id, as_of)
    if visit_params is None:
        return []
    rows = fetchall(sql, [tenant_id, as_of, *visit_params])
    return [
        {
            "rule_id": rule_id,
            "mi": int(mi),
            "held_out": bool(held_out),
            "customers": int(n),
            "visited": int(visited or 0),
            "revenue": int(revenue or 0),
            "revenue_sq": float(sq or 0.0),
        }
        for rule_id, mi, held_out, n, visited, revenue, sq in rows
    ]
