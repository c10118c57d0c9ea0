# ruff: noqa: S608 -- SQL text is built from model _meta names and fixed fragments; every value is bound.
"""The features of the replacement model, for every vehicle at several cut dates, in three SQL queries.

Time is cut into half-years counted back from `as_of`: cut k is the day `as_of − 183·k`; the window after
cut k is the 183 days up to cut k−1. Every dated row (service record, purchase) falls into one bucket
`(as_of − date) // 183`, and the three queries aggregate per vehicle (or customer) and bucket, once for
every cut at the same time. A feature "at cut k" then only reads buckets ≥ k (the history before the cut),
which the arrays below compute with suffix sums and minima over the bucket axis: vectorised numpy, never
a loop per vehicle. Cut 0 is now (the live score); cuts 1… are the person-period rows the model learns
from and the backtest checks (discrete-time hazard: one row per vehicle and half-year at risk).

A replacement of vehicle V is the first vehicle sale (a purchase in a vehicle category) to V's customer
after V came to the shop that is not V's own sale. V is at risk at cut k when it came before the cut and
was neither replaced nor gone by then (a sold or scrapped car without a replacement is gone after its
last service record).

Scoring needs cut 0 only, and there a shorter path (`windows=0`, `_live_rows`) pays: one query returns one
row per vehicle at risk now, with each look-back already reduced to the few numbers cut 0 reads (the
repair spend of buckets 0-3, the latest and the earliest reading, the customer's transaction days within
and beyond the 36 months…). The (V, B) arrays of that History hold those numbers in fixed buckets, laid
out so that `cut_features(h, 0)` computes exactly what it computes from the per-bucket arrays; such a
History serves cut 0 only (`History.cuts`).
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

import numpy as np
from django.db import connection

from analytics.btyd import BGNBD, p_alive
from analytics.sql import date_param, days_between, fetchall, is_postgres, tune_refresh_transaction
from customers.models import (
    Customer,
    Purchase,
    PurchaseCategory,
    ServiceKind,
    ServiceRecord,
    Vehicle,
    VehicleStatus,
)

WINDOW_DAYS = 183
# Look-backs in buckets: repairs over 12 months (+ the 12 before), frequency over 36 months.
LOOKBACK_BUCKETS = 6
VEHICLE_SALE_CODES = ("new_car", "used_car")
REPAIR_KINDS = (ServiceKind.REPAIR, ServiceKind.BODYWORK)
DAYS_PER_YEAR = 365.25

FEATURES = [
    "age_years",
    "age_squared",
    "inspections_passed",
    "inspection_within_6m",
    "mileage_10k",
    "km_per_year_10k",
    "mileage_known",
    "repairs_12m_100k",
    "repairs_trend_100k",
    "months_since_visit",
    "owned_years",
    "frequency_36m",
    "log_monetary_36m",
    "p_alive",
]


@dataclass
class History:
    """Per-vehicle and per-(vehicle, bucket) arrays of one shop, as of `as_of`."""

    tenant_id: int
    as_of: date
    buckets: int
    cuts: int  # the last cut k the arrays serve (0: a live History, see the module docstring)
    vehicle_id: np.ndarray
    customer_id: np.ndarray
    staff_id: np.ndarray  # the customer's assigned staff (0: none)
    owned: np.ndarray  # bool: status owned today
    reg_db: np.ndarray  # days from first registration (or model year, or arrival) to as_of
    reg_known: np.ndarray
    expiry_db: np.ndarray  # days from the recorded 車検 expiry to as_of (negative: ahead); nan
    start_db: np.ndarray  # days since the vehicle came to the shop (0: no history)
    end_db: np.ndarray  # days since it left the risk set (0: still at risk now)
    replaced_db: np.ndarray  # days since its replacement; nan if never
    repairs: np.ndarray  # (V, B) repair spend per bucket
    last_km: np.ndarray  # (V, B) latest reading per bucket (nan: none)
    last_km_db: np.ndarray
    first_km: np.ndarray
    first_km_db: np.ndarray
    visits: np.ndarray  # (V, B) the customer's transaction days per bucket
    spend: np.ndarray
    last_visit_db: np.ndarray  # (V, B) nan: none in the bucket
    first_visit_db: np.ndarray  # (V,) days since the customer's first transaction; nan
    bgnbd: BGNBD | None


def _bucket(db_expr: str, buckets: int) -> str:
    last = buckets - 1
    return f"CASE WHEN ({db_expr}) / {WINDOW_DAYS} > {last} THEN {last} ELSE ({db_expr}) / {WINDOW_DAYS} END"


def _tables():
    return (
        Vehicle._meta.db_table,
        Purchase._meta.db_table,
        PurchaseCategory._meta.db_table,
        ServiceRecord._meta.db_table,
        Customer._meta.db_table,
    )


# When a vehicle came to the shop: its sale (`sale.d`) or its first service record (`svc.first_d`),
# whichever is first; both feature queries name the two aggregates so.
_ARRIVAL_SQL = (
    "CASE WHEN sale.d IS NULL THEN svc.first_d WHEN svc.first_d IS NULL OR sale.d <= svc.first_d"
    " THEN sale.d ELSE svc.first_d END"
)


def _model_year_day() -> str:
    """SQL for 1 July of `v0.model_year`: the vehicle's age when its registration is unknown."""
    if is_postgres():
        return "CAST(CAST(v0.model_year AS TEXT) || '-07-01' AS DATE)"
    return "(CAST(v0.model_year AS TEXT) || '-07-01')"


def _vehicle_rows(tenant_id: int, as_of: date) -> list[tuple]:
    vehicle, purchase, category, service, customer = _tables()
    d = date_param()
    codes = ", ".join(["%s"] * len(VEHICLE_SALE_CODES))
    sales = f"""SELECT p.customer_id, p.vehicle_id, p.date FROM {purchase} p
        JOIN {category} c ON c.id = p.category_id
        WHERE p.tenant_id = %s AND c.code IN ({codes}) AND NOT p.is_refund AND p.date <= {d}"""
    start, model_year_day = _ARRIVAL_SQL, _model_year_day()
    sql = f"""
    WITH sales AS ({sales}),
    sale AS (SELECT vehicle_id, MIN(date) AS d FROM sales WHERE vehicle_id IS NOT NULL GROUP BY vehicle_id),
    svc AS (SELECT vehicle_id, MIN(date) AS first_d, MAX(date) AS last_d FROM {service}
            WHERE tenant_id = %s AND date <= {d} GROUP BY vehicle_id),
    v0 AS (SELECT v.id, v.customer_id, v.status, v.first_registration, v.model_year, v.inspection_expiry,
                  {start} AS start_d, svc.last_d
           FROM {vehicle} v LEFT JOIN sale ON sale.vehicle_id = v.id LEFT JOIN svc ON svc.vehicle_id = v.id
           WHERE v.tenant_id = %s),
    repl AS (SELECT v0.id, MIN(s.date) AS d FROM v0 JOIN sales s ON s.customer_id = v0.customer_id
             AND s.date > v0.start_d AND (s.vehicle_id IS NULL OR s.vehicle_id <> v0.id) GROUP BY v0.id)
    SELECT v0.id, v0.customer_id, COALESCE(cu.assigned_staff_id, 0),
           CASE WHEN v0.status = 'owned' THEN 1 ELSE 0 END,
           {days_between(d, "v0.first_registration")},
           CASE WHEN v0.model_year IS NULL THEN NULL ELSE {days_between(d, model_year_day)} END,
           {days_between(d, "v0.inspection_expiry")},
           {days_between(d, "v0.start_d")}, {days_between(d, "v0.last_d")}, {days_between(d, "repl.d")}
    FROM v0 JOIN {customer} cu ON cu.id = v0.customer_id LEFT JOIN repl ON repl.id = v0.id
    ORDER BY v0.id
    """
    params = [tenant_id, *VEHICLE_SALE_CODES, as_of, tenant_id, as_of, tenant_id]
    params += [as_of] * 6
    return fetchall(sql, params)


def _service_rows(tenant_id: int, as_of: date, buckets: int) -> list[tuple]:
    service = ServiceRecord._meta.db_table
    d = date_param()
    kinds = ", ".join(["%s"] * len(REPAIR_KINDS))
    sql = f"""
    SELECT vehicle_id, b, SUM(CASE WHEN kind IN ({kinds}) THEN amount ELSE 0 END),
           MAX(mileage), MIN(CASE WHEN mileage IS NOT NULL THEN db END),
           MIN(mileage), MAX(CASE WHEN mileage IS NOT NULL THEN db END)
    FROM (SELECT vehicle_id, kind, amount, mileage, {days_between(d, "date")} AS db,
                 {_bucket(days_between(d, "date"), buckets)} AS b
          FROM {service} WHERE tenant_id = %s AND date <= {d}) s
    GROUP BY vehicle_id, b
    """
    return fetchall(sql, [*REPAIR_KINDS, as_of, as_of, as_of, tenant_id, as_of])


def _customer_rows(tenant_id: int, as_of: date, buckets: int) -> list[tuple]:
    _v, purchase, _c, service, _cu = _tables()
    d = date_param()
    # A transaction day never straddles two buckets, so COUNT(DISTINCT d) per bucket adds up to days.
    sql = f"""
    SELECT customer_id, b, COUNT(DISTINCT d), SUM(amount), MIN(db), MAX(db)
    FROM (SELECT customer_id, d, amount, {days_between(d, "d")} AS db,
                 {_bucket(days_between(d, "d"), buckets)} AS b
          FROM (SELECT customer_id, date AS d, amount FROM {purchase}
                WHERE tenant_id = %s AND date <= {d} AND NOT is_refund
                UNION ALL SELECT customer_id, date AS d, amount FROM {service}
                WHERE tenant_id = %s AND date <= {d}) tx) x
    GROUP BY customer_id, b
    """
    return fetchall(sql, [as_of, as_of, as_of, tenant_id, as_of, tenant_id, as_of])


# The latest reading's bucket and its mileage in one MAX: (last bucket − bucket) · 2³¹ + km orders the
# readings by bucket (newest first), then by km; km (an integer column, ≥ 0) is the remainder.
_KM_SPAN = 2**31


def _live_rows(tenant_id: int, as_of: date, buckets: int) -> list[tuple]:
    """One row per vehicle at risk now (owned, not replaced), in id order: the vehicle's ages, the
    look-backs cut 0 reads of its service records, and its customer's transaction days and spend."""
    vehicle, purchase, category, service, customer = _tables()
    d = "CAST(%(as_of)s AS DATE)" if is_postgres() else "%(as_of)s"
    last = buckets - 1
    recent = LOOKBACK_BUCKETS * WINDOW_DAYS  # the frequency and spend window: buckets 0…5
    start, model_year_day = _ARRIVAL_SQL, _model_year_day()
    repair = "kind IN (%(repair0)s, %(repair1)s)"
    repairs = ", ".join(
        f"CAST(SUM(CASE WHEN {repair} AND b = {b} THEN amount END) AS BIGINT) AS r{b}"
        for b in range(4)  # repairs of the last 12 months (buckets 0, 1) and of the 12 before (2, 3)
    )
    sql = f"""
    WITH sales AS (SELECT p.customer_id, p.vehicle_id, p.date FROM {purchase} p
                   JOIN {category} c ON c.id = p.category_id
                   WHERE p.tenant_id = %(tenant)s AND c.code IN (%(sale0)s, %(sale1)s) AND NOT p.is_refund
                     AND p.date <= {d}),
    sale AS (SELECT vehicle_id, MIN(date) AS d FROM sales WHERE vehicle_id IS NOT NULL GROUP BY vehicle_id),
    svc AS (SELECT vehicle_id, MIN(date) AS first_d, {repairs},
                   MAX(CASE WHEN mileage IS NOT NULL THEN ({last} - b) * {_KM_SPAN} + mileage END)
                     AS latest_km,
                   MIN(CASE WHEN mileage IS NOT NULL THEN db END) AS latest_km_db,
                   MIN(mileage) AS first_km, MAX(CASE WHEN mileage IS NOT NULL THEN db END) AS first_km_db
            FROM (SELECT vehicle_id, kind, amount, mileage, date, {days_between(d, "date")} AS db,
                         {_bucket(days_between(d, "date"), buckets)} AS b
                  FROM {service} WHERE tenant_id = %(tenant)s AND date <= {d}) s
            GROUP BY vehicle_id),
    cust AS (SELECT customer_id, COUNT(DISTINCT CASE WHEN db < {recent} THEN d END) AS recent_days,
                    COUNT(DISTINCT d) AS days,
                    CAST(SUM(CASE WHEN db < {recent} THEN amount END) AS BIGINT) AS recent_spend,
                    MIN(db) AS last_db, MAX(db) AS first_db
             FROM (SELECT customer_id, d, amount, {days_between(d, "d")} AS db
                   FROM (SELECT customer_id, date AS d, amount FROM {purchase}
                         WHERE tenant_id = %(tenant)s AND date <= {d} AND NOT is_refund
                         UNION ALL SELECT customer_id, date AS d, amount FROM {service}
                         WHERE tenant_id = %(tenant)s AND date <= {d}) tx) t
             GROUP BY customer_id),
    v0 AS (SELECT v.id, v.customer_id, v.first_registration, v.model_year, v.inspection_expiry,
                  {start} AS start_d, svc.r0, svc.r1, svc.r2, svc.r3, svc.latest_km, svc.latest_km_db,
                  svc.first_km, svc.first_km_db
           FROM {vehicle} v LEFT JOIN sale ON sale.vehicle_id = v.id LEFT JOIN svc ON svc.vehicle_id = v.id
           WHERE v.tenant_id = %(tenant)s AND v.status = %(owned)s)
    SELECT v0.id, v0.customer_id, COALESCE(cu.assigned_staff_id, 0),
           {days_between(d, "v0.first_registration")},
           CASE WHEN v0.model_year IS NULL THEN NULL ELSE {days_between(d, model_year_day)} END,
           {days_between(d, "v0.inspection_expiry")}, {days_between(d, "v0.start_d")},
           v0.r0, v0.r1, v0.r2, v0.r3, v0.latest_km, v0.latest_km_db, v0.first_km, v0.first_km_db,
           cust.recent_days, cust.days, cust.recent_spend, cust.last_db, cust.first_db
    FROM v0 JOIN {customer} cu ON cu.id = v0.customer_id
    LEFT JOIN cust ON cust.customer_id = v0.customer_id
    WHERE NOT EXISTS (SELECT 1 FROM sales s WHERE s.customer_id = v0.customer_id AND s.date > v0.start_d
                      AND (s.vehicle_id IS NULL OR s.vehicle_id <> v0.id))
    ORDER BY v0.id
    """
    params = {
        "tenant": tenant_id,
        "as_of": connection.ops.adapt_datefield_value(as_of),
        "owned": VehicleStatus.OWNED.value,
        "sale0": VEHICLE_SALE_CODES[0],
        "sale1": VEHICLE_SALE_CODES[1],
        "repair0": REPAIR_KINDS[0].value,
        "repair1": REPAIR_KINDS[1].value,
    }
    return fetchall(sql, params)


@contextmanager
def refresh_settings():
    """The analytics refresh's transaction settings (hash joins, memory, no JIT) for the block only, then
    back to the session's: a caller's later queries in the same transaction plan as usual."""
    tune_refresh_transaction()
    try:
        yield
    finally:
        if is_postgres():
            with connection.cursor() as cursor:
                cursor.execute("RESET enable_nestloop; RESET jit; RESET work_mem")


def _matrix(rows: list[tuple], width: int) -> np.ndarray:
    """Query rows as a float matrix in one C-level conversion (NULL becomes NaN)."""
    return np.array(rows, dtype=float).reshape(len(rows), width)


def _nan_to(values: np.ndarray, default: float) -> np.ndarray:
    return np.where(np.isnan(values), default, values)


def _live_history(*, tenant_id: int, as_of: date, bgnbd: BGNBD | None) -> History:
    """The vehicles at risk now, with the look-backs of `_live_rows` in fixed buckets: the repair spend
    in buckets 0-3 as they are; the latest reading (its bucket's highest km, its days before as_of) and
    the earliest (lowest km, days) in bucket 0; the customer's days and spend of the 36 months in bucket 0,
    their older days in bucket `LOOKBACK_BUCKETS`, their latest transaction in bucket 0. Every sum, min
    and max `cut_features(h, 0)` takes over the buckets then gives what it gives on the full arrays."""
    buckets = 1 + 2 * LOOKBACK_BUCKETS
    with refresh_settings():
        v = _matrix(_live_rows(tenant_id, as_of, buckets), 20)
    n = len(v)
    reg, model_year_db, expiry, start = v[:, 3], v[:, 4], v[:, 5], _nan_to(v[:, 6], 0.0)
    reg_known = ~np.isnan(reg)
    reg = np.where(reg_known, reg, np.where(np.isnan(model_year_db), start, model_year_db))
    shape = (n, buckets)
    repairs, visits, spend = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    last_km, last_km_db, first_km, first_km_db, last_visit = (np.full(shape, np.nan) for _ in range(5))
    repairs[:, :4] = _nan_to(v[:, 7:11], 0.0)
    last_km[:, 0], last_km_db[:, 0] = np.mod(v[:, 11], _KM_SPAN), v[:, 12]
    first_km[:, 0], first_km_db[:, 0] = v[:, 13], v[:, 14]
    visits[:, 0] = _nan_to(v[:, 15], 0.0)
    visits[:, LOOKBACK_BUCKETS] = _nan_to(v[:, 16], 0.0) - visits[:, 0]
    spend[:, 0] = _nan_to(v[:, 17], 0.0)
    last_visit[:, 0] = v[:, 18]
    return History(
        tenant_id=tenant_id,
        as_of=as_of,
        buckets=buckets,
        cuts=0,
        vehicle_id=v[:, 0].astype(np.int64),
        customer_id=v[:, 1].astype(np.int64),
        staff_id=v[:, 2].astype(np.int64),
        owned=np.ones(n, bool),
        reg_db=reg,
        reg_known=reg_known,
        expiry_db=expiry,
        start_db=start,
        end_db=np.zeros(n),
        replaced_db=np.full(n, np.nan),
        repairs=repairs,
        last_km=last_km,
        last_km_db=last_km_db,
        first_km=first_km,
        first_km_db=first_km_db,
        visits=visits,
        spend=spend,
        last_visit_db=last_visit,
        first_visit_db=v[:, 19],
        bgnbd=bgnbd,
    )


def load_history(*, tenant_id: int, as_of: date, windows: int, bgnbd: BGNBD | None) -> History:
    """The shop's history as arrays, for cuts 0…`windows`; with `windows=0` (scoring) the live History
    of the vehicles at risk now, in one query."""
    if windows == 0:
        return _live_history(tenant_id=tenant_id, as_of=as_of, bgnbd=bgnbd)
    return bucketed_history(tenant_id=tenant_id, as_of=as_of, windows=windows, bgnbd=bgnbd)


def bucketed_history(*, tenant_id: int, as_of: date, windows: int, bgnbd: BGNBD | None) -> History:
    """Every vehicle with every bucket, for cuts 0…`windows` (three queries, see the module docstring).
    The fit's path; with `windows=0` the reference the live History is checked against."""
    buckets = windows + 1 + 2 * LOOKBACK_BUCKETS
    with refresh_settings():
        vehicle_rows = _vehicle_rows(tenant_id, as_of)
        service_rows = _service_rows(tenant_id, as_of, buckets)
        customer_rows = _customer_rows(tenant_id, as_of, buckets)
    v = _matrix(vehicle_rows, 10)
    n = len(v)
    vid, cid = v[:, 0].astype(np.int64), v[:, 1].astype(np.int64)
    reg, model_year_db, expiry = v[:, 4], v[:, 5], v[:, 6]
    start, last_svc, replaced = _nan_to(v[:, 7], 0.0), v[:, 8], v[:, 9]
    owned = v[:, 3] > 0
    reg_known = ~np.isnan(reg)
    reg = np.where(reg_known, reg, np.where(np.isnan(model_year_db), start, model_year_db))
    gone = np.where(np.isnan(last_svc), start, last_svc)
    end = np.where(~np.isnan(replaced), replaced, np.where(owned, 0.0, gone))

    shape = (n, buckets)
    repairs = np.zeros(shape)
    last_km, last_km_db, first_km, first_km_db = (np.full(shape, np.nan) for _ in range(4))
    srv = _matrix(service_rows, 7)
    if len(srv) and n:
        ids = srv[:, 0].astype(np.int64)
        pos = np.searchsorted(vid, ids).clip(0, n - 1)  # vehicles come ordered by id
        srv, pos = srv[vid[pos] == ids], pos[vid[pos] == ids]
        b = srv[:, 1].astype(np.int64)
        repairs[pos, b] = _nan_to(srv[:, 2], 0.0)
        last_km[pos, b], last_km_db[pos, b] = srv[:, 3], srv[:, 4]
        first_km[pos, b], first_km_db[pos, b] = srv[:, 5], srv[:, 6]

    customers, inverse = np.unique(cid, return_inverse=True)
    cshape = (len(customers), buckets)
    visits, spend = np.zeros(cshape), np.zeros(cshape)
    last_visit, first_visit = np.full(cshape, np.nan), np.full(cshape, np.nan)
    cus = _matrix(customer_rows, 6)
    if len(cus) and len(customers):
        ids = cus[:, 0].astype(np.int64)
        pos = np.searchsorted(customers, ids).clip(0, len(customers) - 1)
        cus, pos = cus[customers[pos] == ids], pos[customers[pos] == ids]
        b = cus[:, 1].astype(np.int64)
        visits[pos, b], spend[pos, b] = _nan_to(cus[:, 2], 0.0), _nan_to(cus[:, 3], 0.0)
        last_visit[pos, b], first_visit[pos, b] = cus[:, 4], cus[:, 5]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: customers without a transaction
        first_visit_db = np.nanmax(first_visit, axis=1) if len(customers) else np.zeros(0)
    return History(
        tenant_id=tenant_id,
        as_of=as_of,
        buckets=buckets,
        cuts=windows,
        vehicle_id=vid,
        customer_id=cid,
        staff_id=v[:, 2].astype(np.int64),
        owned=owned,
        reg_db=reg,
        reg_known=reg_known,
        expiry_db=expiry,
        start_db=start,
        end_db=end,
        replaced_db=replaced,
        repairs=repairs,
        last_km=last_km,
        last_km_db=last_km_db,
        first_km=first_km,
        first_km_db=first_km_db,
        visits=visits[inverse],
        spend=spend[inverse],
        last_visit_db=last_visit[inverse],
        first_visit_db=first_visit_db[inverse] if len(customers) else np.zeros(0),
        bgnbd=bgnbd,
    )


def _suffix(values: np.ndarray, k: int, op) -> np.ndarray:
    """Reduce the buckets ≥ k (the history before cut k) of a (V, B) array."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows are vehicles without readings
        return op(values[:, k:], axis=1)


def _latest_reading(h: History, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The latest mileage reading before cut k and its days before as_of (nan: none)."""
    part_km, part_db = h.last_km[:, k:], h.last_km_db[:, k:]
    has = ~np.isnan(part_km)
    first = np.where(has.any(axis=1), has.argmax(axis=1), 0)
    rows = np.arange(len(part_km))
    km = np.where(has.any(axis=1), part_km[rows, first], np.nan)
    return km, np.where(has.any(axis=1), part_db[rows, first], np.nan)


@dataclass
class Cut:
    """The rows of one cut: which vehicles are at risk, their features, and (for k ≥ 1) the outcome."""

    k: int
    rows: np.ndarray  # indexes into the History's vehicle arrays
    X: np.ndarray  # (rows, len(FEATURES))
    replaced: np.ndarray  # bool: replaced in the window after the cut (all False for k = 0)
    mileage: np.ndarray  # estimated km at the cut (nan: unknown)
    repairs_12m: np.ndarray
    repairs_prev_12m: np.ndarray
    age_years: np.ndarray
    inspection_within_6m: np.ndarray


def at_risk(h: History, k: int) -> np.ndarray:
    offset = k * WINDOW_DAYS
    came = (h.start_db > offset) if k else np.ones(len(h.vehicle_id), bool)
    if k == 0:
        return h.owned & np.isnan(h.replaced_db)
    return came & (h.end_db < offset)


def cut_features(h: History, k: int) -> Cut:
    """Features of the vehicles at risk at cut k, from the history before it only."""
    if k > h.cuts:
        raise ValueError(f"this history serves cuts 0…{h.cuts}, not {k}")
    rows = np.flatnonzero(at_risk(h, k))
    offset = float(k * WINDOW_DAYS)
    age_days = np.maximum(h.reg_db[rows] - offset, 0.0)
    age = age_days / DAYS_PER_YEAR
    months = age_days / (DAYS_PER_YEAR / 12)
    # 車検: 3 years after first registration, then every 2 years.
    passed = np.where(months < 36, 0, 1 + np.floor((months - 36) / 24))
    to_next = np.where(months < 36, 36 - months, 24 - np.mod(months - 36, 24))
    within = (to_next <= 6).astype(float)

    km, km_db = _latest_reading(h, k)
    km, km_db = km[rows], km_db[rows]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        first_km = _suffix(h.first_km, k, np.nanmin)[rows]
        first_db = _suffix(h.first_km_db, k, np.nanmax)[rows]
        span = (first_db - km_db) / DAYS_PER_YEAR
        age_at_reading = np.maximum((h.reg_db[rows] - km_db) / DAYS_PER_YEAR, 0.5)
        rate = np.where(span >= 0.5, (km - first_km) / span, km / age_at_reading)
    known = ~np.isnan(km)
    median_rate = float(np.nanmedian(rate)) if known.any() else 10_000.0
    rate = np.where(known & np.isfinite(rate), rate, median_rate)
    mileage = np.where(known, km + rate * np.maximum(km_db - offset, 0) / DAYS_PER_YEAR, np.nan)
    mileage_filled = np.where(known, mileage, median_rate * age)

    repairs_12m = h.repairs[rows, k] + h.repairs[rows, k + 1]
    repairs_prev = h.repairs[rows, k + 2] + h.repairs[rows, k + 3]

    last_visit = _suffix(h.last_visit_db[rows], k, np.nanmin)
    owned_days = np.maximum(h.start_db[rows] - offset, 0.0)
    since_visit = np.where(np.isnan(last_visit), owned_days, last_visit - offset) / (DAYS_PER_YEAR / 12)
    window = slice(k, k + LOOKBACK_BUCKETS)
    frequency = h.visits[rows, window].sum(axis=1)
    monetary = h.spend[rows, window].sum(axis=1)
    alive = np.ones(len(rows))
    if h.bgnbd is not None and len(rows):
        days_total = _suffix(h.visits[rows], k, np.sum)
        first_visit = h.first_visit_db[rows]
        seen = (days_total > 0) & ~np.isnan(first_visit) & ~np.isnan(last_visit)
        x = np.maximum(days_total - 1, 0)
        t_x = np.where(seen, (first_visit - last_visit) / 7, 0)
        T = np.where(seen, (first_visit - offset) / 7, 0)
        with np.errstate(all="ignore"):
            computed = p_alive(h.bgnbd, x[seen], t_x[seen], np.maximum(T[seen], t_x[seen]))
        alive[seen] = np.where(np.isfinite(computed), computed, 1.0)
        alive[~seen] = 0.0
    X = (
        np.column_stack(
            [
                age,
                age**2 / 10,
                passed,
                within,
                mileage_filled / 10_000,
                rate / 10_000,
                known.astype(float),
                repairs_12m / 100_000,
                (repairs_12m - repairs_prev) / 100_000,
                np.minimum(since_visit, 120),
                owned_days / DAYS_PER_YEAR,
                frequency,
                np.log1p(monetary),
                alive,
            ]
        )
        if len(rows)
        else np.zeros((0, len(FEATURES)))
    )
    if k:
        bucket = h.replaced_db[rows] // WINDOW_DAYS
        replaced = ~np.isnan(h.replaced_db[rows]) & (bucket == k - 1)
    else:
        replaced = np.zeros(len(rows), bool)
    return Cut(k, rows, X, replaced, mileage, repairs_12m, repairs_prev, age, within)


def person_periods(h: History, first: int, last: int) -> tuple[np.ndarray, np.ndarray]:
    """The model's learning rows: every vehicle at risk at cuts `first`…`last`, with its outcome."""
    cuts = [cut_features(h, k) for k in range(first, last + 1)]  # one vectorised step per half-year
    cuts = [c for c in cuts if len(c.rows)]
    if not cuts:
        return np.zeros((0, len(FEATURES))), np.zeros(0, bool)
    return np.vstack([c.X for c in cuts]), np.concatenate([c.replaced for c in cuts])


def database_supports_features() -> bool:
    return connection.vendor in ("postgresql", "sqlite")
