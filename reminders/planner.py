# ruff: noqa: S608 -- SQL is assembled from constants and enum values only; every input is a bound parameter.
"""The planner: turns active rules into Reminder rows with one INSERT … SELECT per rule kind.

One statement per tenant covers all its rules and customers: no Python loop over customers. Tenants
are planned one after the other, each inside its own `tenant_context` (row-level security).
`INSERT … ON CONFLICT DO NOTHING` against the unique index on
(tenant, rule, step, customer, COALESCE(vehicle, 0), occasion date) makes planning idempotent, also
when two planners run at the same time (the second waits on the first one's index entries, then skips).

A row is planned when its due date (occasion + step offset) falls in
[date - LOOKBACK_DAYS, date + HORIZON_DAYS]: the lookback repairs a missed daily run, the horizon
shows the coming days in the queue. Conditions that can change after planning (a 車検 recorded, a
second purchase) are checked again at send time (sending.reminder_still_relevant).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import connection
from django.utils import timezone

from crm.models import Tenant
from crm.tenancy.rls import tenant_context
from customers.models import ServiceKind, VehicleStatus
from reminders.audience import segment_sql
from reminders.holdout import holdout_status_sql
from reminders.models import ReminderRule, ReminderStatus, RuleKind

LOOKBACK_DAYS = 3
HORIZON_DAYS = 7
# A 車検 recorded within this many days before the expiry counts as "done" for the after-expiry step.
SHAKEN_DONE_WINDOW_DAYS = 180
# A 12-month check falling this close to the next 車検 is skipped: the 車検 covers it.
CHECK_BEFORE_SHAKEN_MARGIN_DAYS = 60


@dataclass(frozen=True)
class _Sql:
    """The few date expressions that differ between PostgreSQL and SQLite."""

    pg: bool

    def add_days(self, d: str, n: str) -> str:
        return f"({d} + ({n}))" if self.pg else f"date({d}, ({n}) || ' days')"

    def add_months(self, d: str, n: str) -> str:
        return (
            f"({d} + make_interval(months => ({n})))::date"
            if self.pg
            else f"date({d}, '+' || ({n}) || ' months')"
        )

    def same_day_in_year(self, d: str, year: str) -> str:
        # Feb 29 becomes Feb 28 (PostgreSQL) or Mar 1 (SQLite) in other years.
        if self.pg:
            return f"({d} + make_interval(years => ({year}) - EXTRACT(YEAR FROM {d})::int))::date"
        return f"date({d}, (({year}) - CAST(strftime('%%Y', {d}) AS INTEGER)) || ' years')"

    def make_date(self, year: str, month: str, day: str) -> str:
        if self.pg:
            return f"make_date({year}, {month}, {day})"
        return f"printf('%%04d-%%02d-%%02d', {year}, {month}, {day})"

    def param_date(self) -> str:
        return "%s::date" if self.pg else "%s"

    def param_int(self) -> str:
        return "%s::int" if self.pg else "%s"


def _selects(q: _Sql) -> dict[str, str]:
    """One SELECT per kind, yielding (tenant_id, rule_id, step, customer_id, vehicle_id, occasion, due)."""
    owned = VehicleStatus.OWNED
    shaken, c12 = ServiceKind.SHAKEN, ServiceKind.CHECK_12M
    years = "(SELECT -1 AS n UNION ALL SELECT 0 UNION ALL SELECT 1)"
    # Date parameters are named so each statement can use them as often as it needs.
    today = q.param_date().replace("%s", "%(today)s")
    year = q.param_int().replace("%s", "%(year)s")
    # Occasions whose due date (occasion + offset) can fall in the planning window; lets the index on the
    # occasion column do the filtering before any date arithmetic.
    window = (
        f"{q.add_days(today, '-s.offset_days - %(lookback)s')} "
        f"AND {q.add_days(today, '-s.offset_days + %(horizon)s')}"
    )
    last_check = (
        "SELECT sr.vehicle_id, MAX(sr.date) AS last_date FROM customers_servicerecord sr "
        f"WHERE sr.tenant_id = %(tenant)s AND sr.kind IN ('{shaken}', '{c12}') GROUP BY sr.vehicle_id"
    )
    return {
        # Inspection: from each owned vehicle's expiry; positive offsets only while no 車検 is recorded.
        RuleKind.INSPECTION: (
            "SELECT r.tenant_id, r.id AS rule_id, s.step, v.customer_id, v.id AS vehicle_id, "
            "v.inspection_expiry AS occasion, "
            f"{q.add_days('v.inspection_expiry', 's.offset_days')} AS due "
            "FROM reminders_reminderrule r JOIN reminders_reminderstep s ON s.rule_id = r.id "
            "JOIN customers_vehicle v ON v.tenant_id = r.tenant_id "
            f"WHERE r.is_active AND r.kind = '{RuleKind.INSPECTION}' "
            "AND r.tenant_id = %(tenant)s "
            f"AND v.status = '{owned}' AND v.inspection_expiry IS NOT NULL "
            "AND v.inspection_expiry BETWEEN "
            f"{window} "
            "AND (s.offset_days <= 0 OR NOT EXISTS (SELECT 1 FROM customers_servicerecord sr "
            f"WHERE sr.tenant_id = v.tenant_id AND sr.vehicle_id = v.id AND sr.kind = '{shaken}' "
            f"AND sr.date >= {q.add_days('v.inspection_expiry', str(-SHAKEN_DONE_WINDOW_DAYS))}))"
        ),
        # 12-month check: 12 months after the last 車検 or 12-month check, unless the next 車検 covers it.
        RuleKind.CHECK_12M: (
            "SELECT r.tenant_id, r.id AS rule_id, s.step, v.customer_id, v.id AS vehicle_id, "
            f"{q.add_months('lc.last_date', '12')} AS occasion, "
            f"{q.add_days(q.add_months('lc.last_date', '12'), 's.offset_days')} AS due "
            "FROM reminders_reminderrule r JOIN reminders_reminderstep s ON s.rule_id = r.id "
            "JOIN customers_vehicle v ON v.tenant_id = r.tenant_id "
            f"JOIN ({last_check}) lc ON lc.vehicle_id = v.id "
            f"WHERE r.is_active AND r.kind = '{RuleKind.CHECK_12M}' "
            "AND r.tenant_id = %(tenant)s "
            f"AND v.status = '{owned}' AND (v.inspection_expiry IS NULL OR "
            f"{q.add_months('lc.last_date', '12')} < "
            f"{q.add_days('v.inspection_expiry', str(-CHECK_BEFORE_SHAKEN_MARGIN_DAYS))})"
        ),
        # 6-month check: halfway between 車検 / 12-month checks, only where the tenant turned it on.
        RuleKind.CHECK_6M: (
            "SELECT r.tenant_id, r.id AS rule_id, s.step, v.customer_id, v.id AS vehicle_id, "
            f"{q.add_months('lc.last_date', '6')} AS occasion, "
            f"{q.add_days(q.add_months('lc.last_date', '6'), 's.offset_days')} AS due "
            "FROM reminders_reminderrule r JOIN reminders_reminderstep s ON s.rule_id = r.id "
            "JOIN crm_tenant t ON t.id = r.tenant_id AND t.six_month_check_enabled "
            "JOIN customers_vehicle v ON v.tenant_id = r.tenant_id "
            f"JOIN ({last_check}) lc ON lc.vehicle_id = v.id "
            f"WHERE r.is_active AND r.kind = '{RuleKind.CHECK_6M}' "
            "AND r.tenant_id = %(tenant)s "
            f"AND v.status = '{owned}'"
        ),
        # Birthday: this year's (and the neighbouring years') birthday; the unique key keeps it once a year.
        RuleKind.BIRTHDAY: (
            "SELECT r.tenant_id, r.id AS rule_id, s.step, c.id AS customer_id, CAST(NULL AS BIGINT) AS "
            "vehicle_id, "
            f"{q.same_day_in_year('c.birthday', f'{year} + y.n')} AS occasion, "
            f"{q.add_days(q.same_day_in_year('c.birthday', f'{year} + y.n'), 's.offset_days')} AS due "
            "FROM reminders_reminderrule r JOIN reminders_reminderstep s ON s.rule_id = r.id "
            f"JOIN customers_customer c ON c.tenant_id = r.tenant_id CROSS JOIN {years} y "
            f"WHERE r.is_active AND r.kind = '{RuleKind.BIRTHDAY}' "
            "AND r.tenant_id = %(tenant)s AND c.birthday IS NOT NULL"
        ),
        RuleKind.FOLLOW_UP_SERVICE: (
            "SELECT r.tenant_id, r.id AS rule_id, s.step, sr.customer_id, sr.vehicle_id, sr.date AS "
            "occasion, "
            f"{q.add_days('sr.date', 's.offset_days')} AS due "
            "FROM reminders_reminderrule r JOIN reminders_reminderstep s ON s.rule_id = r.id "
            "JOIN customers_servicerecord sr ON sr.tenant_id = r.tenant_id "
            f"WHERE r.is_active AND r.kind = '{RuleKind.FOLLOW_UP_SERVICE}' "
            "AND r.tenant_id = %(tenant)s AND sr.date BETWEEN "
            f"{window}"
        ),
        RuleKind.FOLLOW_UP_PURCHASE: (
            "SELECT r.tenant_id, r.id AS rule_id, s.step, p.customer_id, p.vehicle_id, p.date AS occasion, "
            f"{q.add_days('p.date', 's.offset_days')} AS due "
            "FROM reminders_reminderrule r JOIN reminders_reminderstep s ON s.rule_id = r.id "
            "JOIN customers_purchase p ON p.tenant_id = r.tenant_id "
            f"WHERE r.is_active AND r.kind = '{RuleKind.FOLLOW_UP_PURCHASE}' "
            "AND r.tenant_id = %(tenant)s AND NOT p.is_refund AND p.date BETWEEN "
            f"{window}"
        ),
        # Nurture: from a customer's first purchase, only while it is still their only purchase.
        RuleKind.NURTURE: (
            "SELECT r.tenant_id, r.id AS rule_id, s.step, fp.customer_id, CAST(NULL AS BIGINT) AS "
            "vehicle_id, fp.first_date AS occasion, "
            f"{q.add_days('fp.first_date', 's.offset_days')} AS due "
            "FROM reminders_reminderrule r JOIN reminders_reminderstep s ON s.rule_id = r.id "
            "JOIN (SELECT p.tenant_id, p.customer_id, MIN(p.date) AS first_date, COUNT(*) AS n "
            "FROM customers_purchase p WHERE NOT p.is_refund AND p.tenant_id = %(tenant)s "
            "GROUP BY p.tenant_id, p.customer_id) fp ON fp.tenant_id = r.tenant_id AND fp.n = 1 "
            f"WHERE r.is_active AND r.kind = '{RuleKind.NURTURE}' "
            "AND r.tenant_id = %(tenant)s"
        ),
        # Seasonal: the rule's day of the step's month, for the audience (segment or tag).
        RuleKind.SEASONAL: (
            "SELECT r.tenant_id, r.id AS rule_id, s.step, c.id AS customer_id, CAST(NULL AS BIGINT) AS "
            "vehicle_id, "
            f"{q.make_date(f'{year} + y.n', 's.month', 'r.season_day')} AS occasion, "
            f"{q.add_days(q.make_date(f'{year} + y.n', 's.month', 'r.season_day'), 's.offset_days')} AS due "
            "FROM reminders_reminderrule r JOIN reminders_reminderstep s ON s.rule_id = r.id "
            f"JOIN customers_customer c ON c.tenant_id = r.tenant_id CROSS JOIN {years} y "
            f"WHERE r.is_active AND r.kind = '{RuleKind.SEASONAL}' AND s.month IS NOT NULL "
            "AND r.tenant_id = %(tenant)s "
            "AND (r.audience_tag = '' OR EXISTS (SELECT 1 FROM customers_customertag ct "
            "JOIN customers_tag tg ON tg.id = ct.tag_id "
            "WHERE ct.tenant_id = c.tenant_id AND ct.customer_id = c.id AND tg.name = r.audience_tag)) "
            "AND " + segment_sql()
        ),
    }


def plan_reminders(*, on: date | None = None, tenant_id: int | None = None) -> dict[str, int]:
    """Plan every active rule's reminders due around `on` (default: today). Returns rows created per kind.

    Without `tenant_id`, every tenant in turn: the Tenant table is not tenant-owned, and each tenant's
    planning runs inside its own `tenant_context` (row-level security lets a statement see one tenant).
    """
    on = on or timezone.localdate()
    if tenant_id is not None:
        tenant_ids = [tenant_id]
    else:
        tenant_ids = list(Tenant.objects.order_by("id").values_list("id", flat=True))
    created: Counter[str] = Counter({str(kind): 0 for kind in RuleKind})
    sql, base = _plan_statement(on)
    for tid in tenant_ids:
        created.update(_plan_tenant(tid, sql, base))
    return dict(created)


def _plan_statement(on: date) -> tuple[str, dict]:
    """One INSERT … SELECT … ON CONFLICT DO NOTHING for every kind of rule of one tenant."""
    q = _Sql(pg=connection.vendor == "postgresql")
    params = {
        "today": on.isoformat() if not q.pg else on,
        "year": on.year,
        "lookback": LOOKBACK_DAYS,
        "horizon": HORIZON_DAYS,
        "start": on - timedelta(days=LOOKBACK_DAYS),
        "end": on + timedelta(days=HORIZON_DAYS),
        "now": timezone.now(),
        "pending": ReminderStatus.PENDING,
        "held_out": ReminderStatus.HELD_OUT,
    }
    if not q.pg:
        params["start"], params["end"] = params["start"].isoformat(), params["end"].isoformat()
    start, end = q.param_date().replace("%s", "%(start)s"), q.param_date().replace("%s", "%(end)s")
    union = " UNION ALL ".join(
        f"SELECT * FROM ({select}) k{i}" for i, select in enumerate(_selects(q).values())
    )
    # The rule's control group (reminders.holdout): the same customer is held out of every step.
    status = holdout_status_sql(
        pg=q.pg,
        tenant="x.tenant_id",
        rule="x.rule_id",
        customer="x.customer_id",
        salt="hr.holdout_salt",
        percent="hr.holdout_percent",
        held_out="%(held_out)s",
        pending="%(pending)s",
    )
    sql = (
        "INSERT INTO reminders_reminder (tenant_id, rule_id, step, customer_id, vehicle_id, occasion_date, "
        "due_date, status, reason, attempts, created_at, updated_at) "
        "SELECT x.tenant_id, x.rule_id, x.step, x.customer_id, x.vehicle_id, x.occasion, x.due, "
        f"{status}, '', 0, %(now)s, %(now)s "
        f"FROM ({union}) x JOIN reminders_reminderrule hr ON hr.id = x.rule_id "
        f"WHERE x.due BETWEEN {start} AND {end} "
        # An erased customer (APPI) is never contacted again, not even by a call task.
        "AND NOT EXISTS (SELECT 1 FROM customers_customer ec WHERE ec.id = x.customer_id "
        "AND ec.erased_at IS NOT NULL) "
        "ON CONFLICT DO NOTHING RETURNING rule_id"
    )
    return sql, params


def _plan_tenant(tenant_id: int, sql: str, base: dict) -> Counter[str]:
    """Plan one tenant in its own transaction; rows created per kind."""
    with tenant_context(tenant_id), connection.cursor() as cursor:
        cursor.execute(sql, {**base, "tenant": tenant_id})
        per_rule = Counter(rule_id for (rule_id,) in cursor.fetchall())
        if not per_rule:
            return Counter()
        kinds = dict(
            ReminderRule.objects.for_tenant(tenant_id).filter(pk__in=per_rule).values_list("id", "kind")
        )
    created: Counter[str] = Counter()
    for rule_id, n in per_rule.items():
        created[str(kinds[rule_id])] += n
    return created
