# ruff: noqa: S608 -- SQL text is built from model _meta names and fixed fragments; every value is bound.
"""`python manage.py bench_results --settings=benchmarks.settings [--customers 100000] [--scaling]`
(PostgreSQL).

Generates a shop `bench-results` with N customers (one car each), 6 N purchases and 4 N service records
(1 M transactions at N = 100,000: 車検 every two years for most cars, 12-month checks, oil changes) over
five years, and 3 N reminders of the default 車検 (4 steps), 12-month check and birthday rules with a
10 % holdout, with INSERT … SELECT generate_series (deterministic via setseed). Then times the retention
refresh (analytics.services.retention_refresh), the results refresh (funnel and uplift,
results.services.results_refresh), and both together, median of --repeat runs. With --scaling, the same
at 1/4 and 1/2 of N, each in its own shop (`bench-results-25000` …, kept between runs). The load average
is printed next to every figure (the machine is shared). Rows are deleted at the end unless --keep.
"""

from __future__ import annotations

import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from analytics.models import RetentionMonthly
from analytics.services import retention_refresh
from benchmarks.management.commands.bench_analytics import _load, _sql, _timed
from crm.models import Tenant
from customers.models import Customer, Purchase, PurchaseCategory, ServiceRecord, Vehicle
from reminders.models import Reminder, ReminderRule, ReminderStep
from results.models import FunnelMonthly, UpliftMonthly
from results.services import results_refresh

SLUG = "bench-results"
AS_OF = date(2026, 3, 31)


class Command(BaseCommand):
    help = "Benchmark the retention + results refresh on PostgreSQL (docs/benchmarks.md, issue #16)."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=100_000)
        parser.add_argument("--scaling", action="store_true", help="also time 1/4 and 1/2 of the size")
        parser.add_argument("--keep", action="store_true", help="keep the bench shops' rows")
        parser.add_argument("--repeat", type=int, default=3)
        parser.add_argument("--no-generate", action="store_true", help="measure the data already there")

    def handle(self, *args, customers, scaling, keep, repeat, no_generate, **opts):
        if connection.vendor != "postgresql":
            raise CommandError("bench_results needs PostgreSQL (DATABASE_URL=postgres://...)")
        sizes = [customers // 4, customers // 2, customers] if scaling else [customers]
        shops = []
        try:
            for n in sizes:
                tenant = self._tenant(SLUG if n == customers else f"{SLUG}-{n}")
                shops.append(tenant)
                have = Customer.objects.for_tenant(tenant).count()
                if not no_generate or have != n:
                    self._generate(tenant, n)
                self._measure(tenant, n, repeat)
        finally:
            if not keep:
                for tenant in shops:
                    self._clear(tenant)

    def _measure(self, tenant: Tenant, n: int, repeat: int) -> None:
        counts = {
            "purchases": Purchase.objects.for_tenant(tenant).count(),
            "service records": ServiceRecord.objects.for_tenant(tenant).count(),
            "reminders": Reminder.objects.for_tenant(tenant).count(),
        }
        tx = counts["purchases"] + counts["service records"]
        self.stdout.write(
            f"{n:,} customers, {tx:,} transactions ({counts['purchases']:,} purchases + "
            f"{counts['service records']:,} service records), {counts['reminders']:,} reminders; {_load()}"
        )
        retention_s, rows = _timed(lambda: retention_refresh(tenant=tenant, as_of=AS_OF), repeat)
        self.stdout.write(f"  retention refresh: {retention_s:.3f} s ({rows:,} rows; {_load()})")
        results_s, written = _timed(lambda: results_refresh(tenant=tenant, as_of=AS_OF), repeat)
        self.stdout.write(f"  results refresh (funnel + uplift): {results_s:.3f} s ({written}; {_load()})")

        def both():
            retention_refresh(tenant=tenant, as_of=AS_OF)
            return results_refresh(tenant=tenant, as_of=AS_OF)

        total_s, _ = _timed(both, repeat)
        self.stdout.write(
            f"  retention + funnel + uplift refresh: {total_s:.3f} s, median of {repeat} (target < 3 s at "
            f"100,000 customers; {total_s / tx * 1e6:.2f} µs per transaction; {_load()})"
        )

    # --- data ------------------------------------------------------------------------------------
    def _tenant(self, slug: str) -> Tenant:
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            from crm.tenancy.onboarding import tenant_defaults_create

            tenant = Tenant.objects.create(slug=slug, name="Results benchmark")
            tenant_defaults_create(tenant=tenant)
        ReminderRule.objects.for_tenant(tenant).update(holdout_percent=10)
        return tenant

    @transaction.atomic
    def _clear(self, tenant: Tenant) -> None:
        for model in (FunnelMonthly, UpliftMonthly, RetentionMonthly, Reminder, Purchase, ServiceRecord):
            _sql(f"DELETE FROM {model._meta.db_table} WHERE tenant_id = %s", [tenant.pk])
        for model in (Vehicle, Customer):
            _sql(f"DELETE FROM {model._meta.db_table} WHERE tenant_id = %s", [tenant.pk])

    def _generate(self, tenant: Tenant, n: int) -> None:
        started = time.perf_counter()
        self._clear(tenant)
        c, v, p, s, r = (m._meta.db_table for m in (Customer, Vehicle, Purchase, ServiceRecord, Reminder))
        category = PurchaseCategory.objects.for_tenant(tenant).get(code="parts").pk
        rules = dict(ReminderRule.objects.for_tenant(tenant).values_list("kind", "pk"))
        t = tenant.pk
        with transaction.atomic():
            _sql("SELECT setseed(0.16)")
            _sql(
                f"""INSERT INTO {c} (tenant_id, created_at, updated_at, external_ref, family_name, given_name,
                    family_name_kana, given_name_kana, email, phone, postal_code, prefecture, address, gender,
                    acquisition_channel, acquisition_cost, consent, consent_source, notes, birthday, language)
                SELECT %s, now(), now(), '', '鈴木', 'No.' || g, 'スズキ', '', 'r' || g || '@bench.test', '',
                    '', '東京都', '', 'unknown', (ARRAY['walk_in','website','portal','referral'])[1 + g %% 4],
                    0, 'unknown', '', '', DATE '1950-01-01' + (g * 37 %% 18000), 'ja'
                FROM generate_series(1, %s) g""",
                [t, n],
            )
            _sql(
                f"""INSERT INTO {v} (tenant_id, created_at, updated_at, customer_id, external_ref, maker,
                    model_name, grade, plate_number, vin, inspection_expiry, status)
                SELECT %s, now(), now(), id, '', 'トヨタ', 'アクア', '', '', '',
                    DATE %s + (random() * 1400)::int - 700, 'owned'
                FROM {c} WHERE tenant_id = %s""",
                [t, AS_OF.isoformat(), t],
            )
            lo, hi = _sql(f"SELECT MIN(id), MAX(id) FROM {c} WHERE tenant_id = %s", [t])[0]
            _sql(
                f"""INSERT INTO {p} (tenant_id, created_at, updated_at, external_ref, date, amount,
                    gross_profit, is_refund, description, customer_id, category_id)
                SELECT %s, now(), now(), '', DATE %s - (random() * 1825)::int,
                    1000 + (random() ^ 3 * 300000)::bigint,
                    300, false, '', %s + (random() ^ 2 * (%s - %s))::int, %s
                FROM generate_series(1, %s) g""",
                [t, AS_OF.isoformat(), lo, hi, lo, category, 6 * n],
            )
            # Service records: a 車検 every two years for 7 cars in 10 (some of them renewed elsewhere
            # later), 12-month checks for 6 in 10, the rest oil changes; 4 per customer in all.
            _sql(
                f"""INSERT INTO {s} (tenant_id, created_at, updated_at, customer_id, vehicle_id, external_ref,
                    date, kind, amount, gross_profit, next_due, notes)
                SELECT %s, now(), now(), v.customer_id, v.id, '', d, kind, amount, amount / 3,
                    CASE kind WHEN 'shaken' THEN CAST(d + INTERVAL '24 months' AS DATE)
                              WHEN 'check_12m' THEN CAST(d + INTERVAL '12 months' AS DATE) END, ''
                FROM (
                    SELECT v.id, v.customer_id, k.kind, k.amount,
                           CASE k.kind WHEN 'shaken'
                                THEN CAST(v.inspection_expiry - INTERVAL '24 months' * k.n AS DATE)
                                     - (random() * 40)::int
                                       WHEN 'check_12m' THEN CAST(v.inspection_expiry - INTERVAL '12 months'
                                                             - INTERVAL '24 months' * k.n AS DATE)
                                       ELSE DATE %s - (random() * 1825)::int END AS d,
                           random() AS x, k.share
                    FROM {v} v CROSS JOIN (VALUES ('shaken', 1, 90000, 0.7), ('shaken', 2, 90000, 0.7),
                        ('check_12m', 1, 15000, 0.6), ('oil_change', 0, 6000, 1.0),
                        ('oil_change', 0, 6000, 1.0)) AS k(kind, n, amount, share)
                    WHERE v.tenant_id = %s
                ) v WHERE x < share AND d <= DATE %s""",
                [t, AS_OF.isoformat(), t, AS_OF.isoformat()],
            )
            # Reminders: 車検 (4 steps) for every second car, 12-month check for the others, birthday for
            # every second customer: 3 per customer; one customer in ten held out per rule.
            steps = {
                kind: list(ReminderStep.objects.for_tenant(tenant).filter(rule_id=rules[kind]).values_list(
                    "step", "offset_days"))
                for kind in ("inspection", "check_12m", "birthday")
            }  # fmt: skip
            for kind, parity, occasion in (
                ("inspection", 0, "v.inspection_expiry - CAST(365 * (v.id %% 2) AS INTEGER)"),
                ("check_12m", 1, "CAST(v.inspection_expiry - INTERVAL '12 months' AS DATE)"),
                ("birthday", 0, "CAST(%s AS DATE) - CAST(v.customer_id * 13 %% 365 AS INTEGER)"),
            ):
                for step, offset in steps[kind]:
                    birthday = [AS_OF.isoformat()] if kind == "birthday" else []
                    _sql(
                        f"""INSERT INTO {r} (tenant_id, rule_id, step, customer_id, vehicle_id, occasion_date,
                            due_date, status, reason, channel, attempts, sent_at, opened_at, clicked_at,
                            created_at, updated_at)
                        SELECT %s, %s, %s, customer_id, vehicle_id, occ, occ + %s,
                            CASE WHEN held THEN 'held_out' ELSE 'sent' END, '',
                            CASE WHEN held THEN ''
                                 ELSE (ARRAY['email','line','postcard'])[1 + customer_id %% 3] END,
                            0, CASE WHEN held THEN NULL ELSE now() END,
                            CASE WHEN NOT held AND random() < 0.3 THEN now() END,
                            CASE WHEN NOT held AND random() < 0.1 THEN now() END, now(), now()
                        FROM (SELECT v.customer_id,
                                     CASE WHEN %s = 'birthday' THEN NULL ELSE v.id END AS vehicle_id,
                                     {occasion} AS occ, (v.customer_id * 7919 + %s) %% 10 = 0 AS held
                              FROM {v} v WHERE v.tenant_id = %s AND v.customer_id %% 2 = %s) x""",
                        [t, rules[kind], step, offset, kind, *birthday, rules[kind], t, parity],
                    )
        for model in (Customer, Vehicle, Purchase, ServiceRecord, Reminder):
            _sql(f"ANALYZE {model._meta.db_table}")
        self.stdout.write(f"generated the {n:,}-customer shop in {time.perf_counter() - started:.1f} s")
