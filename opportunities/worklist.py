# ruff: noqa: S608 -- SQL is assembled from constants only; every input is a bound parameter.
"""Building the weekly list: one INSERT … SELECT per shop.

The candidates are the union of the two score tables (a replacement score per owned vehicle, a
leaving risk per customer). Each customer counts with their best expected value (a hash aggregate),
ROW_NUMBER per staff member (the customer's assigned staff, when still a non-viewer member of the
shop; else the unassigned bucket, which managers see) ranks the customers by it, and for the first N
per staff member the best candidate row is picked (ties: replacement first, then the lowest vehicle
id) and inserted with its figures and facts. Excluded: erased customers, customers with an
open deal, and customers whose entry of the same kind was dismissed within the shop's period.

Refreshing a week again (a manager's click, the Monday job running twice) replaces its untouched
entries only: entries acted on or dismissed stay, with their log; acted-on ones count against N, and
one UPDATE renumbers the week's ranks so kept and new entries interleave by expected value.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.utils import timezone

from analytics.sql import planner_settings
from crm.models import Tenant
from crm.tenancy.rls import tenant_context
from crm.tenancy.roles import Role
from interactions.models import OPEN_DEAL_STAGES
from opportunities.models import EntryKind, EntryStatus, WorklistEntry, WorklistSettings

# The two window sorts over every scored vehicle (~10 MB for 100,000) stay in memory; set for the
# refresh transaction only (SET LOCAL), never for the server.
REFRESH_WORK_MEM = "64MB"
DEFAULT_PER_STAFF = 20
DEFAULT_DISMISS_DAYS = 90


def shop_today(tenant: Tenant, now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(ZoneInfo(tenant.time_zone or "Asia/Tokyo")).date()


def week_of(day: date) -> date:
    """The Monday of `day`'s week: the key of a weekly list."""
    return day - timedelta(days=day.weekday())


def worklist_settings_get(*, tenant: Tenant) -> WorklistSettings:
    """The shop's settings; an unsaved row with the defaults when the shop never changed them."""
    found = WorklistSettings.objects.for_tenant(tenant).select_related("message_template").first()
    return found or WorklistSettings(
        tenant=tenant, per_staff=DEFAULT_PER_STAFF, dismiss_days=DEFAULT_DISMISS_DAYS
    )


# Only the ranking keys go through the two windows; the chosen rows' figures and facts (JSON) are
# joined back at the end, for at most N per staff member instead of every scored vehicle.
_CANDIDATES = f"""
SELECT '{EntryKind.REPLACEMENT.value}' AS kind, s.customer_id, s.vehicle_id, s.expected_value
  FROM opportunities_vehiclereplacementscore s
 WHERE s.tenant_id = %(tenant)s AND s.expected_value > 0
UNION ALL
SELECT '{EntryKind.LEAVING.value}', r.customer_id, NULL, r.expected_value
  FROM opportunities_customerleavingrisk r
 WHERE r.tenant_id = %(tenant)s AND r.expected_value > 0
"""

_OPEN_STAGES = ", ".join(f"'{stage.value}'" for stage in OPEN_DEAL_STAGES)

_INSERT = f"""
WITH cand AS (
  SELECT c.kind, c.customer_id, c.vehicle_id, c.expected_value
    FROM ({_CANDIDATES}) c
   WHERE NOT EXISTS (SELECT 1 FROM opportunities_worklistentry x
                      WHERE x.tenant_id = %(tenant)s AND x.customer_id = c.customer_id
                        AND x.kind = c.kind AND x.dismissed_at >= %(dismissed_since)s)
),
best AS (
  SELECT customer_id, MAX(expected_value) AS ev FROM cand GROUP BY customer_id
),
kept AS (
  SELECT k.staff_id, COUNT(*) AS n FROM opportunities_worklistentry k
   WHERE k.tenant_id = %(tenant)s AND k.week = %(week)s AND k.status = '{EntryStatus.ACTED.value}'
   GROUP BY k.staff_id
),
ranked AS (
  SELECT b.customer_id, b.ev, m.user_id AS staff_id, COALESCE(kept.n, 0) AS kept,
         ROW_NUMBER() OVER (PARTITION BY m.user_id ORDER BY b.ev DESC, b.customer_id) AS rn
    FROM best b
    JOIN customers_customer cu ON cu.id = b.customer_id AND cu.tenant_id = %(tenant)s
    LEFT JOIN crm_membership m
           ON m.tenant_id = %(tenant)s AND m.user_id = cu.assigned_staff_id
          AND m.role <> '{Role.VIEWER.value}'
    LEFT JOIN kept ON kept.staff_id = m.user_id OR (kept.staff_id IS NULL AND m.user_id IS NULL)
   WHERE cu.erased_at IS NULL
     AND NOT EXISTS (SELECT 1 FROM interactions_deal d
                      WHERE d.tenant_id = %(tenant)s AND d.customer_id = b.customer_id
                        AND d.stage IN ({_OPEN_STAGES}))
     AND NOT EXISTS (SELECT 1 FROM opportunities_worklistentry w
                      WHERE w.tenant_id = %(tenant)s AND w.week = %(week)s AND w.customer_id = b.customer_id)
),
picked AS (
  SELECT r.customer_id, r.staff_id, r.rn, c.kind, c.vehicle_id, c.expected_value,
         ROW_NUMBER() OVER (PARTITION BY r.customer_id ORDER BY c.kind DESC, c.vehicle_id) AS pick
    FROM ranked r
    JOIN cand c ON c.customer_id = r.customer_id AND c.expected_value = r.ev
   WHERE r.rn <= %(per_staff)s - r.kept
)
INSERT INTO opportunities_worklistentry
  (tenant_id, week, staff_id, rank, kind, customer_id, vehicle_id, probability, expected_margin,
   expected_value, method, facts, status, created_at, updated_at)
SELECT %(tenant)s, %(week)s, p.staff_id, p.rn, p.kind, p.customer_id, p.vehicle_id,
       COALESCE(s.probability, 1.0 - r.p_alive, 0.0), COALESCE(s.expected_margin, r.value),
       p.expected_value, COALESCE(s.method, ''), COALESCE(s.facts, r.facts),
       '{EntryStatus.OPEN.value}', %(now)s, %(now)s
  FROM picked p
  LEFT JOIN opportunities_vehiclereplacementscore s
         ON p.kind = '{EntryKind.REPLACEMENT.value}' AND s.tenant_id = %(tenant)s
        AND s.vehicle_id = p.vehicle_id
  LEFT JOIN opportunities_customerleavingrisk r
         ON p.kind = '{EntryKind.LEAVING.value}' AND r.tenant_id = %(tenant)s
        AND r.customer_id = p.customer_id
 WHERE p.pick = 1
RETURNING id
"""


# Kept and new entries interleave by expected value: one renumbering of the week's shown entries.
_RERANK = f"""
UPDATE opportunities_worklistentry SET rank = r.n
  FROM (SELECT e.id, ROW_NUMBER() OVER (PARTITION BY e.staff_id
                                        ORDER BY e.expected_value DESC, e.customer_id) AS n
          FROM opportunities_worklistentry e
         WHERE e.tenant_id = %(tenant)s AND e.week = %(week)s
           AND e.status IN ('{EntryStatus.OPEN.value}', '{EntryStatus.ACTED.value}')) r
 WHERE opportunities_worklistentry.id = r.id AND opportunities_worklistentry.rank <> r.n
"""


def worklist_refresh(*, tenant: Tenant, week: date | None = None, now: datetime | None = None) -> int:
    """Rebuild `tenant`'s list for `week` (a Monday; default: this week in shop time). Returns rows added.

    Safe to run twice: untouched entries of the week are replaced, acted-on and dismissed ones stay.
    """
    now = now or timezone.now()
    week = week_of(week or shop_today(tenant, now))
    options = worklist_settings_get(tenant=tenant)
    ops = connection.ops
    params = {
        "tenant": tenant.pk,
        "week": ops.adapt_datefield_value(week),
        "now": ops.adapt_datetimefield_value(now),
        "dismissed_since": ops.adapt_datetimefield_value(now - timedelta(days=options.dismiss_days)),
        "per_staff": options.per_staff,
    }
    with tenant_context(tenant.pk), transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('work_mem', %s, true)", [REFRESH_WORK_MEM])
                cursor.execute("SET LOCAL jit = off")
        WorklistEntry.objects.for_tenant(tenant).filter(week=week, status=EntryStatus.OPEN).delete()
        with connection.cursor() as cursor:
            # No nested loops for the INSERT: the planner cannot know how many customers the aggregates
            # of the score tables yield (it guesses 200) and probed the customers' key once per candidate,
            # 100,000 times; hashing the shop's customers is cheaper at any size. The RERANK plans as usual.
            with planner_settings(enable_nestloop="off"):
                cursor.execute(_INSERT, params)
                added = len(cursor.fetchall())  # RETURNING: sqlite3 has no rowcount for a WITH … INSERT
            cursor.execute(_RERANK, params)
    return added


def worklist_refresh_all(*, now: datetime | None = None) -> dict[int, int]:
    """Every shop's list of this week, one shop after the other (each in its own tenant context)."""
    return {
        tenant.pk: worklist_refresh(tenant=tenant, now=now)
        for tenant in Tenant.objects.order_by("id")  # not tenant-owned: one small row per shop
    }
