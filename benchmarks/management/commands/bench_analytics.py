# ruff: noqa: S608 -- SQL text is built from model _meta names and fixed fragments; every value is bound.
"""`python manage.py bench_analytics --settings=benchmarks.settings [--transactions 1000000] [--scaling]`
(PostgreSQL).

Generates a dedicated tenant `bench-analytics` with transactions ÷ 10 customers and the given number
of purchases (2% refunds) over five years, with INSERT … SELECT generate_series (deterministic via
setseed), then times:
* the full RFM + segment refresh including the writes (`rfm_refresh`), in the cases that write
  different amounts: into empty tables (every row inserted), the nightly one (as-of one day later:
  every customer's recency changes, so every row is rewritten), the first of a new month (a new
  snapshot of every customer as well) and a second run the same day (nothing changed),
* the RFM scoring query alone on PostgreSQL and the same SQL text on DuckDB over the same rows
  (both aggregate the scores to a 5×5×5 cube, so neither pays for shipping rows to Python, and the
  two cubes are compared for equality),
* the KPI refresh and serving the 36-month KPI tree from the precomputed table,
* the BG/NBD + Gamma-Gamma fit with per-customer predictions (`btyd_fit_tenant`),
* with --scaling, the nightly refresh at 10k, 100k and 1M transactions (the smaller sizes in their
  own tenants `bench-analytics-10000` …, kept between runs).
The load average is printed next to every figure (the machine is shared). The tenant's rows are
deleted at the end unless --keep.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from analytics.models import AnalyticsSettings, BTYDFit, CustomerLTV, CustomerRFM, MonthlyKPI, SegmentSnapshot
from analytics.rfm import rfm_scores_cte
from analytics.selectors import kpi_tree
from analytics.services import analytics_settings_get, btyd_fit_tenant, kpi_refresh, rfm_refresh
from analytics.sql import tune_refresh_transaction
from crm.models import Tenant
from customers.models import Customer, Purchase, PurchaseCategory, ServiceRecord

SLUG = "bench-analytics"
AS_OF = date(2026, 3, 31)


def _timed(fn, repeat: int = 3) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def _load() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def _refresh(tenant, as_of) -> int:
    return rfm_refresh(tenant=tenant, as_of=as_of)


def _sql(sql: str, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall() if cursor.description else None


class Command(BaseCommand):
    help = "Benchmark the analytics refresh on PostgreSQL (see docs/benchmarks.md, ## Analytics)."

    def add_arguments(self, parser):
        parser.add_argument("--transactions", type=int, default=1_000_000)
        parser.add_argument("--scaling", action="store_true", help="also time 10k / 100k / 1M transactions")
        parser.add_argument("--keep", action="store_true", help="keep the bench tenant's rows")
        parser.add_argument("--repeat", type=int, default=3)
        parser.add_argument(
            "--generate-only", action="store_true", help="only (re)generate the data; implies --keep"
        )
        parser.add_argument("--no-generate", action="store_true", help="measure the data already there")

    def handle(self, *args, transactions, scaling, keep, repeat, generate_only, no_generate, **opts):
        if connection.vendor != "postgresql":
            raise CommandError("bench_analytics needs PostgreSQL (DATABASE_URL=postgres://...)")
        tenant = self._tenant()
        self.stdout.write(self._machine())
        if generate_only:
            self._generate(tenant, transactions)
            return
        try:
            if not no_generate:
                self._generate(tenant, transactions)
            self._main(tenant, transactions, repeat)
            if scaling:
                self._scaling(tenant, transactions, repeat)
        finally:
            if not keep:
                self._clear(tenant)

    def _scaling(self, main_tenant: Tenant, main_size: int, repeat: int) -> None:
        """Nightly refresh time against size; each size in its own tenant (generated once, kept)."""
        for n in (10_000, 100_000, 1_000_000):
            tenant = main_tenant if n == main_size else self._tenant(f"{SLUG}-{n}")
            customers = Customer.objects.for_tenant(tenant).count()
            if tenant != main_tenant and customers != n // 10:
                self._generate(tenant, n)
            _refresh(tenant, date.fromordinal(AS_OF.toordinal() - repeat - 1))
            seconds = self._nightly(tenant, repeat)
            self.stdout.write(
                f"scaling: {n:>9,} transactions / {n // 10:>7,} customers: nightly refresh {seconds:.3f} s"
                f" ({seconds / n * 1e6:.2f} µs per transaction; {_load()})"
            )

    def _nightly(self, tenant: Tenant, repeat: int) -> float:
        """Median of `repeat` refreshes, each one day later than the one before and ending at AS_OF."""
        days = iter(range(repeat - 1, -1, -1))
        seconds, _ = _timed(
            lambda: _refresh(tenant, date.fromordinal(AS_OF.toordinal() - next(days))), repeat
        )
        return seconds

    # --- data ------------------------------------------------------------------------------------
    def _tenant(self, slug: str = SLUG) -> Tenant:
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            tenant = Tenant.objects.create(slug=slug, name="Analytics benchmark")
        if not PurchaseCategory.objects.for_tenant(tenant).exists():
            from customers.services import purchase_categories_create_defaults

            purchase_categories_create_defaults(tenant=tenant)
        conf = analytics_settings_get(tenant=tenant)
        conf.source = "purchases"
        conf.save()
        return tenant

    @transaction.atomic
    def _clear(self, tenant: Tenant) -> None:
        for model in (
            CustomerLTV,
            BTYDFit,
            SegmentSnapshot,
            CustomerRFM,
            MonthlyKPI,
            Purchase,
            ServiceRecord,
        ):
            _sql(f"DELETE FROM {model._meta.db_table} WHERE tenant_id = %s", [tenant.pk])
        for table in ("customers_vehicle", "interactions_interaction", Customer._meta.db_table):
            _sql(f"DELETE FROM {table} WHERE tenant_id = %s", [tenant.pk])

    def _generate(self, tenant: Tenant, n_tx: int) -> None:
        started = time.perf_counter()
        self._clear(tenant)
        n_customers = max(n_tx // 10, 1)
        category = PurchaseCategory.objects.for_tenant(tenant).get(code="parts").pk
        with transaction.atomic():
            _sql("SELECT setseed(0.42)")
            _sql(
                f"""INSERT INTO {Customer._meta.db_table} (tenant_id, created_at, updated_at, external_ref,
                    family_name, given_name, family_name_kana, given_name_kana, email, phone, postal_code,
                    prefecture, address, gender, acquisition_channel, acquisition_cost, consent,
                    consent_source, notes, birthday)
                SELECT %s, now(), now(), '', '佐藤', 'No.' || g, 'サトウ', '', 'c' || g || '@bench.test', '',
                    '', (ARRAY['東京都','大阪府','愛知県','福岡県'])[1 + g %% 4], '',
                    (ARRAY['female','male','unknown'])[1 + g %% 3],
                    (ARRAY['walk_in','website','portal','referral'])[1 + g %% 4], (g %% 4) * 10000,
                    'unknown', '', '', DATE '1950-01-01' + (g %% 18000)
                FROM generate_series(1, %s) g""",
                [tenant.pk, n_customers],
            )
            lo, hi = _sql(
                f"SELECT MIN(id), MAX(id) FROM {Customer._meta.db_table} WHERE tenant_id = %s", [tenant.pk]
            )[0]
            # Skewed: a few customers buy often, most rarely (power of a uniform draw).
            _sql(
                f"""INSERT INTO {Purchase._meta.db_table} (tenant_id, created_at, updated_at, external_ref,
                    date,
                    amount, gross_profit, is_refund, description, customer_id, category_id)
                SELECT %s, now(), now(), '', DATE %s - (random() * 1825)::int,
                    CASE WHEN r < 0.02 THEN -1 ELSE 1 END * (1000 + (random() ^ 3 * 3000000)::bigint),
                    CASE WHEN r < 0.02 THEN -1 ELSE 1 END * (300 + (random() ^ 3 * 600000)::bigint),
                    r < 0.02, '', %s + (random() ^ 2 * (%s - %s))::int, %s
                FROM (SELECT g, random() AS r FROM generate_series(1, %s) g) s""",
                [tenant.pk, AS_OF.isoformat(), lo, hi, lo, category, n_tx],
            )
        _sql(f"ANALYZE {Customer._meta.db_table}")
        _sql(f"ANALYZE {Purchase._meta.db_table}")
        self.stdout.write(
            f"generated {n_customers:,} customers / {n_tx:,} purchases"
            f" in {time.perf_counter() - started:.1f} s"
        )

    # --- measurements ------------------------------------------------------------------------------
    def _main(self, tenant: Tenant, n_tx: int, repeat: int) -> None:
        conf = AnalyticsSettings.objects.for_tenant(tenant).get()
        customers = Customer.objects.for_tenant(tenant).count()
        self.stdout.write(f"{customers:,} customers / {n_tx:,} purchases; {_load()}")
        with transaction.atomic():
            for model in (CustomerRFM, SegmentSnapshot):
                _sql(f"DELETE FROM {model._meta.db_table} WHERE tenant_id = %s", [tenant.pk])
        _sql(f"VACUUM ANALYZE {CustomerRFM._meta.db_table}")
        _sql(f"VACUUM ANALYZE {SegmentSnapshot._meta.db_table}")
        first_day = date.fromordinal(AS_OF.toordinal() - repeat)
        seconds, _ = _timed(lambda: _refresh(tenant, first_day), 1)
        self.stdout.write(f"refresh into empty tables (every row inserted): {seconds:.3f} s ({_load()})")
        seconds = self._nightly(tenant, repeat)
        self.stdout.write(
            f"full RFM + segment refresh incl. writes, nightly (as-of one day later, every row rewritten): "
            f"{seconds:.3f} s, median of {repeat} (target < 3 s; {_load()})"
        )
        seconds, _ = _timed(lambda: _refresh(tenant, AS_OF), repeat)
        self.stdout.write(f"refresh again the same day (nothing changed): {seconds:.3f} s ({_load()})")
        next_month = date(AS_OF.year + AS_OF.month // 12, AS_OF.month % 12 + 1, 1)
        seconds, _ = _timed(lambda: _refresh(tenant, next_month), 1)
        self.stdout.write(
            f"first refresh of a month (rows rewritten + a new snapshot of every customer): "
            f"{seconds:.3f} s ({_load()})"
        )
        with transaction.atomic():  # back to the month of AS_OF for the measurements below
            _sql(
                f"DELETE FROM {SegmentSnapshot._meta.db_table} WHERE tenant_id = %s AND month = %s",
                [tenant.pk, next_month],
            )
        _refresh(tenant, AS_OF)

        cte, params = rfm_scores_cte(
            tenant_id=tenant.pk, as_of=AS_OF, window_months=conf.window_months, source=conf.source
        )
        cube_sql = (
            cte + " SELECT r_score, f_score, m_score, COUNT(*) FROM scores WHERE scored = 1 GROUP BY 1, 2, 3"
        )

        def pg_scores():
            with transaction.atomic():  # with the settings the refresh transaction uses
                tune_refresh_transaction()
                return _sql(cube_sql, params)

        pg_seconds, pg_cube = _timed(pg_scores, repeat)
        duck_seconds, duck_cube = self._duckdb(tenant, cube_sql, params, repeat)
        same = sorted(map(tuple, pg_cube)) == sorted(map(tuple, duck_cube))
        self.stdout.write(
            f"RFM scoring query: PostgreSQL {pg_seconds:.3f} s, DuckDB {duck_seconds:.3f} s, "
            f"ratio {pg_seconds / duck_seconds:.1f}x (target ≤ 2x); identical scores: {same} ({_load()})"
        )

        seconds, months = _timed(lambda: kpi_refresh(tenant=tenant, as_of=AS_OF), 1)
        self.stdout.write(f"KPI refresh (all {months} months): {seconds:.3f} s ({_load()})")
        seconds, _tree = _timed(lambda: kpi_tree(tenant=tenant, months=36, as_of=AS_OF), repeat)
        self.stdout.write(
            f"KPI tree, 36 months from the precomputed table: {seconds * 1000:.1f} ms (target < 200 ms; "
            f"{_load()})"
        )

        phases: dict = {}
        seconds, fit = _timed(lambda: btyd_fit_tenant(tenant=tenant, as_of=AS_OF, timings=phases), 1)
        self.stdout.write(
            f"BTYD fit + predictions: {seconds:.2f} s (target < 10 s); status {fit.status}, "
            f"r={fit.r:.3g} alpha={fit.alpha:.3g} a={fit.a:.3g} b={fit.b:.3g}; holdout predicted "
            f"{fit.holdout_predicted or 0:.0f} vs actual {fit.holdout_actual} ({_load()})"
        )
        phases["commit (deferred foreign-key checks)"] = seconds - sum(phases.values())
        self.stdout.write("  BTYD phases: " + ", ".join(f"{k} {v:.2f} s" for k, v in phases.items()))

    def _duckdb(self, tenant: Tenant, cube_sql: str, params: list, repeat: int):
        import duckdb

        purchase, customer = Purchase._meta.db_table, Customer._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT customer_id, date, amount, gross_profit, is_refund, tenant_id"
                f" FROM {purchase} WHERE tenant_id = %s",
                [tenant.pk],
            )
            purchases = cursor.fetchall()
            cursor.execute(f"SELECT id, tenant_id FROM {customer} WHERE tenant_id = %s", [tenant.pk])
            customers = cursor.fetchall()
        import pandas as pd

        db = duckdb.connect()
        p = pd.DataFrame(
            purchases, columns=["customer_id", "date", "amount", "gross_profit", "is_refund", "tenant_id"]
        )
        p["date"] = pd.to_datetime(p["date"]).dt.date
        c = pd.DataFrame(customers, columns=["id", "tenant_id"])
        db.register("p_df", p)
        db.register("c_df", c)
        db.execute(
            f"CREATE TABLE {purchase} AS SELECT customer_id, CAST(date AS DATE) AS date, amount, "
            "gross_profit, is_refund, tenant_id FROM p_df"
        )
        db.execute(f"CREATE TABLE {customer} AS SELECT * FROM c_df")
        db.execute(
            f"CREATE TABLE {ServiceRecord._meta.db_table} (customer_id BIGINT, date DATE, amount BIGINT, "
            "gross_profit BIGINT, tenant_id BIGINT)"
        )
        # DuckDB's `/` is true division; `//` is the integer division PostgreSQL does on integers.
        duck_sql = cube_sql.replace("%s", "?").replace(") / n)", ") // n)")
        duck_params = [v.isoformat() if isinstance(v, date) else v for v in params]
        seconds, cube = _timed(lambda: db.execute(duck_sql, duck_params).fetchall(), repeat)
        return seconds, cube

    def _machine(self) -> str:
        version = _sql("SHOW server_version")[0][0]
        try:
            with open("/proc/meminfo") as fh:
                mem_kb = int(fh.readline().split()[1])
        except OSError:
            mem_kb = 0
        import duckdb

        return (
            f"machine: {os.cpu_count()} CPUs, {mem_kb / 1024 / 1024:.1f} GiB RAM, PostgreSQL {version}, "
            f"DuckDB {duckdb.__version__}, Python {platform.python_version()}"
        )
