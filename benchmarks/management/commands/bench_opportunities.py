# ruff: noqa: S608 -- table names come from the models' _meta; the tenant id is bound.
"""`python manage.py bench_opportunities --settings=benchmarks.settings [--customers 100000] [--staff 50]`

Generates a dedicated dealer `bench-opportunities` with the demo generator (its planted replacement
process included): about ten purchases and service records per customer, so 100,000 customers are about
1,000,000 transactions and 100,000+ owned vehicles, assigned round-robin to `--staff` members. Then, after
the analytics refresh that gives P(alive) (timed apart, it is not this issue's), it times:

* fitting the shop's replacement model with its backtest (`replacement_fit`: the history of every vehicle
  and half-year, the logistic regression twice, the stored fit) — target < 30 s;
* scoring every owned vehicle with the stored fit (`replacement_scores_refresh`: the live features of
  cut 0 and the scores rewritten in place) — target < 10 s together with the weekly list's refresh for
  50 staff members (`worklist_refresh`), timed after the leaving risk that the lists also read. It runs
  twice, as of the day before and as of the day: the second is the nightly case, where every vehicle's
  probability (its age moved on) and most expected values and facts differ from the rows it rewrites;
* the leaving risk (`leaving_risk_refresh`).

The load average is printed beside every figure (the machine is shared). `--keep` keeps the shop's rows
(and `--no-generate` measures them again).
"""

from __future__ import annotations

import os
import platform
import time
from datetime import UTC, date, datetime, timedelta

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from analytics.services import analytics_refresh_tenant
from crm.models import Membership, Tenant, User
from crm.tenancy.rls import tenant_context
from crm.tenancy.roles import Role
from customers.models import Purchase, ServiceRecord, Vehicle
from opportunities.models import VehicleReplacementScore
from opportunities.services import leaving_risk_refresh, replacement_fit, replacement_scores_refresh
from opportunities.worklist import worklist_refresh
from workspace.demo import seed_tenant

SLUG = "bench-opportunities"
TODAY = date(2026, 6, 30)
NOW = datetime(2026, 6, 30, 9, 0, tzinfo=UTC)  # the lists of the week of TODAY


def _load() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


class Command(BaseCommand):
    help = "Benchmark replacement fitting and scoring (see docs/benchmarks.md, #17)."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=100_000)
        parser.add_argument("--staff", type=int, default=50)
        parser.add_argument("--keep", action="store_true")
        parser.add_argument("--no-generate", action="store_true")

    def _say(self, text: str) -> None:
        self.stdout.write(f"{text}  [{_load()}]")
        self.stdout.flush()

    def _generate(self, customers: int, staff: int) -> Tenant:
        tenant = Tenant.objects.filter(slug=SLUG).first() or Tenant.objects.create(
            slug=SLUG, name="Opportunities benchmark"
        )
        from customers.services import purchase_categories_create_defaults

        with tenant_context(tenant.pk):
            purchase_categories_create_defaults(tenant=tenant)
            staff_ids = []
            for i in range(staff):
                user, _ = User.objects.get_or_create(email=f"sales{i:02d}@{SLUG}.bench")
                Membership.objects.for_tenant(tenant).get_or_create(
                    tenant=tenant, user=user, defaults={"role": Role.STAFF}
                )
                staff_ids.append(user.pk)
        started = time.perf_counter()
        with tenant_context(tenant.pk):
            counts = seed_tenant(
                tenant=tenant,
                kind="dealer",
                customers=customers,
                years=5,
                seed=17,
                today=TODAY,
                staff_ids=staff_ids,
            )
        self._say(f"generated {counts} in {time.perf_counter() - started:.1f} s")
        return tenant

    def handle(self, *args, customers, staff, keep, no_generate, **opts):
        self.stdout.write(f"{platform.node()} {os.cpu_count()} CPUs, {connection.vendor}")
        tenant = Tenant.objects.filter(slug=SLUG).first() if no_generate else None
        if tenant is None:
            self._wipe()
            tenant = self._generate(customers, staff)
            started = time.perf_counter()
            with tenant_context(tenant.pk):
                analytics_refresh_tenant(tenant=tenant, as_of=TODAY)
            self._say(f"analytics refresh (P(alive), not timed below) {time.perf_counter() - started:.1f} s")
        with tenant_context(tenant.pk):
            transactions = (
                Purchase.objects.for_tenant(tenant).count() + ServiceRecord.objects.for_tenant(tenant).count()
            )
            vehicles = Vehicle.objects.for_tenant(tenant).count()
        self._say(f"{transactions:,} transactions, {vehicles:,} vehicles")

        started = time.perf_counter()
        with tenant_context(tenant.pk):
            fit = replacement_fit(tenant=tenant, as_of=TODAY)
        self._say(
            f"fit + backtest {time.perf_counter() - started:.2f} s: {fit.method}, {fit.events:,} events "
            f"in {fit.periods:,} vehicle half-years; backtest AUC {fit.auc}, hit rate {fit.hit_replaced}/"
            f"{fit.hit_listed}, calibration gaps "
            + ", ".join(f"{(c['observed'] - c['predicted']) * 100:+.1f}" for c in fit.calibration)
        )
        for as_of in (TODAY - timedelta(days=1), TODAY):  # last night's scores, then tonight's
            started = time.perf_counter()
            with tenant_context(tenant.pk):
                scored = replacement_scores_refresh(tenant=tenant, as_of=as_of, fit=fit)
            scoring = time.perf_counter() - started
            self._say(f"scoring {scored:,} vehicles as of {as_of} {scoring:.2f} s")
        started = time.perf_counter()
        with tenant_context(tenant.pk):
            risks = leaving_risk_refresh(tenant=tenant, as_of=TODAY)
            top = VehicleReplacementScore.objects.for_tenant(tenant).order_by("-expected_value").first()
        self._say(f"leaving risk {time.perf_counter() - started:.2f} s ({risks:,} customers)")
        # This week's lists for every staff member from both score tables (#17, part 3); the issue's
        # target is the scoring plus this.
        for _ in range(2):
            started = time.perf_counter()
            with tenant_context(tenant.pk):
                rows = worklist_refresh(tenant=tenant, now=NOW)
            lists = time.perf_counter() - started
            self._say(
                f"lists for {staff} staff {lists:.2f} s ({rows:,} entries); "
                f"scoring + lists {scoring + lists:.2f} s"
            )
        if top:
            self._say(f"top score {top.probability:.3f} facts {top.facts}")
        if not keep:
            self._wipe()

    def _wipe(self) -> None:
        tenant = Tenant.objects.filter(slug=SLUG).first()
        if tenant is None:
            return
        # Foreign keys are deferred to the commit (Django's constraints), so the order of the tables is free.
        tables = [
            m._meta.db_table for m in apps.get_models() if any(f.name == "tenant" for f in m._meta.fields)
        ]
        with transaction.atomic(), tenant_context(tenant.pk), connection.cursor() as cursor:
            for table in tables:
                cursor.execute(f"DELETE FROM {table} WHERE tenant_id = %s", [tenant.pk])
            User.objects.filter(email__endswith=f"@{SLUG}.bench").delete()
            Tenant.objects.filter(pk=tenant.pk).delete()
