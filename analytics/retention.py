# ruff: noqa: S608 -- SQL text is built from model _meta names and fixed fragments; every value is bound.
"""Retention KPIs: 車検入庫率, 12-month check retention and service return within 12 months.

Definitions (docs/analytics.md, "Retention"):

* **車検 retention.** An *expiry* is a (vehicle, month) in which the vehicle's 車検 expired, for vehicles
  now owned (status `owned`). The expiry dates a shop knows are: the vehicle's current
  `inspection_expiry`; the next expiry each 車検 record set (its `next_due`, or its date + 24 months);
  and the expiry a 車検 record renewed early (next expiry − 24 months, when that is after the record's
  date). One vehicle has at most one expiry a month (the earliest date of the month counts). An expiry E
  is *retained* when a 車検 record of the vehicle is dated in [E − 90 d, E + 30 d]; it is *pending* when
  it is not retained yet and E + 30 d is after the as-of date (the customer may still come).
* **12-month check retention.** Each 車検 record with next expiry N puts a 12-month legal check due on
  N − 12 months; retained when a 12-month check record of the vehicle is dated in [due − 90 d, due + 30 d].
* **Service return within 12 months.** For every customer and month with a service record: the last
  service day of that month; retained when the customer's next service (the first day of their next
  month with one) is within 365 days.

Each KPI is counted by the month of the expiry / due date / visit, for the whole shop and by the
customer's assigned staff, acquisition channel and current RFM segment. One query computes every row
(events in CTEs, four GROUP BYs); the result is a few thousand rows, written with bulk_create.
"""

from __future__ import annotations

from datetime import date

from dateutil.relativedelta import relativedelta

from analytics.kpi import index_of, month_of
from analytics.models import CustomerRFM
from analytics.sql import date_param, fetchall, is_postgres, month_index, planner_settings
from customers.models import Customer, ServiceKind, ServiceRecord, Vehicle, VehicleStatus

BEFORE_DAYS = 90  # a 車検 / check done this many days before its due date still counts
AFTER_DAYS = 30  # … or this many days after it
RETURN_DAYS = 365
MONTHS = 36  # months of history kept, up to the as-of month
# The KPIs travel through the query as small integers (cheaper to group than text).
KPI_CODES = {"shaken": 1, "check_12m": 2, "service_return": 3}
KPI_NAMES = {code: name for name, code in KPI_CODES.items()}


def add_days(expr: str, days: int) -> str:
    """SQL for a date expression plus a whole number of days (a constant)."""
    days = int(days)
    if is_postgres():
        return f"(({expr}) + {days})"
    return f"date({expr}, '{days:+d} days')"


def add_months(expr: str, months: int) -> str:
    """SQL for a date expression plus whole months (a constant); PostgreSQL clamps to the month's end,
    SQLite rolls over (only 29 February differs for the 12/24 months used here)."""
    months = int(months)
    if is_postgres():
        return f"CAST(({expr}) + INTERVAL '{months} months' AS DATE)"
    return f"date({expr}, '{months:+d} months')"


def _events_sql(as_of: date) -> tuple[str, list]:
    """CTEs `ev(kpi, customer_id, mi, retained, late_open)`: one row per expiry / due check / visit month.

    `sh` (the 車検 records of owned vehicles, each with its next expiry computed once) is read four times:
    for the expiries a record sets and renewed, for the 12-month checks it puts due, and as the records
    that retain an expiry (an expiry's vehicle is owned, so its 車検 records are all in `sh`). Shared, it
    is one scan of the service records instead of four.
    """
    v, sr = Vehicle._meta.db_table, ServiceRecord._meta.db_table
    d = date_param()
    start = as_of.replace(day=1) - relativedelta(months=MONTHS - 1)
    end = as_of.replace(day=1) + relativedelta(months=1, days=-1)
    owned, shaken, c12 = VehicleStatus.OWNED.value, ServiceKind.SHAKEN.value, ServiceKind.CHECK_12M.value
    sql = f"""
    sh AS (
        SELECT v.id AS vehicle_id, v.customer_id, sr.date,
               COALESCE(sr.next_due, {add_months("sr.date", 24)}) AS nx
        FROM {sr} sr JOIN {v} v ON v.id = sr.vehicle_id AND v.status = '{owned}'
        WHERE sr.tenant_id = %s AND sr.kind = '{shaken}'
    ),
    exp_raw AS (
        SELECT v.id AS vehicle_id, v.customer_id, v.inspection_expiry AS e FROM {v} v
        WHERE v.tenant_id = %s AND v.status = '{owned}' AND v.inspection_expiry BETWEEN {d} AND {d}
        UNION ALL
        SELECT vehicle_id, customer_id, nx FROM sh
        UNION ALL
        SELECT vehicle_id, customer_id, prev FROM (
            SELECT vehicle_id, customer_id, date, {add_months("nx", -24)} AS prev FROM sh
        ) renewed WHERE prev > date
    ),
    exp AS (
        SELECT vehicle_id, customer_id, {month_index("e")} AS mi, MIN(e) AS e FROM exp_raw
        WHERE e BETWEEN {d} AND {d} GROUP BY vehicle_id, customer_id, {month_index("e")}
    ),
    chk AS (
        SELECT vehicle_id, customer_id, {month_index("e")} AS mi, MIN(e) AS e FROM (
            SELECT vehicle_id, customer_id, {add_months("nx", -12)} AS e FROM sh
        ) due WHERE e BETWEEN {d} AND {d} GROUP BY vehicle_id, customer_id, {month_index("e")}
    ),
    exp_ok AS (
        SELECT DISTINCT exp.vehicle_id, exp.mi FROM exp JOIN sh x ON x.vehicle_id = exp.vehicle_id
        WHERE x.date BETWEEN {add_days("exp.e", -BEFORE_DAYS)} AND {add_days("exp.e", AFTER_DAYS)}
    ),
    chk_ok AS (
        SELECT DISTINCT chk.vehicle_id, chk.mi FROM chk JOIN {sr} x ON x.vehicle_id = chk.vehicle_id
        WHERE x.tenant_id = %s AND x.kind = '{c12}'
          AND x.date BETWEEN {add_days("chk.e", -BEFORE_DAYS)} AND {add_days("chk.e", AFTER_DAYS)}
    ),
    months AS (
        -- months with a service in the reported range (the next month of one of them is in it too)
        SELECT customer_id, {month_index("date")} AS mi, MIN(date) AS first_d, MAX(date) AS last_d
        FROM {sr} WHERE tenant_id = %s AND date BETWEEN {d} AND {d}
        GROUP BY customer_id, {month_index("date")}
    ),
    visits AS (
        -- the next month with a service starts with the customer's next service day after this month
        SELECT customer_id, mi, last_d AS d,
               LEAD(first_d) OVER (PARTITION BY customer_id ORDER BY mi) AS next_d
        FROM months
    ),
    ev AS (
        SELECT {KPI_CODES["shaken"]} AS kpi, exp.customer_id, exp.mi,
               CASE WHEN ok.vehicle_id IS NULL THEN 0 ELSE 1 END AS retained,
               CASE WHEN {add_days("exp.e", AFTER_DAYS)} > {d} THEN 1 ELSE 0 END AS late_open
        FROM exp LEFT JOIN exp_ok ok ON ok.vehicle_id = exp.vehicle_id AND ok.mi = exp.mi
        UNION ALL
        SELECT {KPI_CODES["check_12m"]}, chk.customer_id, chk.mi,
               CASE WHEN ok.vehicle_id IS NULL THEN 0 ELSE 1 END,
               CASE WHEN {add_days("chk.e", AFTER_DAYS)} > {d} THEN 1 ELSE 0 END
        FROM chk LEFT JOIN chk_ok ok ON ok.vehicle_id = chk.vehicle_id AND ok.mi = chk.mi
        UNION ALL
        SELECT {KPI_CODES["service_return"]}, visits.customer_id, visits.mi,
               CASE WHEN visits.next_d <= {add_days("visits.d", RETURN_DAYS)} THEN 1 ELSE 0 END,
               CASE WHEN {add_days("visits.d", RETURN_DAYS)} > {d} THEN 1 ELSE 0 END
        FROM visits WHERE visits.d BETWEEN {d} AND {d}
    )"""
    # sh (tenant), exp_raw (tenant, range), exp (range), chk (range), chk_ok (tenant),
    # months (tenant, range up to as_of), ev (as_of × 3, range).
    params: list = [None, None, start, end, start, end, start, end, None, None, start, as_of]
    params += [as_of, as_of, as_of, start, end]
    return sql, params


def retention_rows(*, tenant_id: int, as_of: date) -> list[dict]:
    """Every retention row of a tenant: kpi, dimension, key, month, eligible, retained, pending."""
    events, params = _events_sql(as_of)
    params = [tenant_id if p is None else p for p in params]
    c, rfm = Customer._meta.db_table, CustomerRFM._meta.db_table
    groups = [
        ("all", "''"),
        ("staff", "COALESCE(CAST(assigned_staff_id AS TEXT), '')"),
        ("channel", "acquisition_channel"),
        ("segment", "COALESCE(segment, '')"),
    ]
    # One pass over the events into a small cube (kpi, month, staff, channel, segment), then the four
    # groupings over the cube: the events are read once, not once per dimension.
    selects = " UNION ALL ".join(
        f"SELECT kpi, '{name}', {expr}, mi, SUM(n), SUM(retained), SUM(pending) "
        f"FROM cube GROUP BY kpi, {expr + ', ' if name != 'all' else ''}mi"
        for name, expr in groups
    )
    sql = f"""
    WITH {events},
    cube AS (
        SELECT ev.kpi, ev.mi, c.assigned_staff_id, c.acquisition_channel, rfm.segment, COUNT(*) AS n,
               SUM(ev.retained) AS retained,
               SUM(CASE WHEN ev.retained = 0 AND ev.late_open = 1 THEN 1 ELSE 0 END) AS pending
        FROM ev JOIN {c} c ON c.id = ev.customer_id
        LEFT JOIN {rfm} rfm ON rfm.customer_id = ev.customer_id
        GROUP BY ev.kpi, ev.mi, c.assigned_staff_id, c.acquisition_channel, rfm.segment
    )
    {selects}
    """
    # The row estimates of the event CTEs are far too low (grouping on computed months), so the planner
    # sorts ~400,000 events for the cube; hashing them is ~3x faster at any size.
    with planner_settings(enable_sort="off"):
        rows = fetchall(sql, params)
    return [
        {
            "kpi": KPI_NAMES[int(kpi)],
            "dimension": dimension,
            "key": key_value or "",
            "month": month_of(int(mi)),
            "eligible": int(eligible),
            "retained": int(retained or 0),
            "pending": int(pending or 0),
        }
        for kpi, dimension, key_value, mi, eligible, retained, pending in rows
        if index_of(as_of) - MONTHS < int(mi) <= index_of(as_of)
    ]
