"""Weekly list benchmark (issue #17): refresh the lists of 50 staff members from 100,000 scored vehicles.

    DATABASE_URL=postgres://…/kizuna_bench python manage.py bench_worklist --settings=benchmarks.settings \
        [--staff 50] [--vehicles 100000] [--runs 3]

Makes a throw-away shop: `--staff` staff members, customers owning `--vehicles` vehicles (a third of them
own two), each vehicle with a replacement score, a fifth of the customers with a leaving risk, 5 % of
the customers unassigned, and 500 customers dismissed recently (excluded by the refresh). Then times
`worklist_refresh` (one DELETE, one INSERT … SELECT with two ROW_NUMBER windows, one re-rank UPDATE)
`--runs` times: the first builds the week, the next ones replace its untouched entries. The shop is
deleted at the end. Target: well under 2 s, so scoring + lists stay < 10 s (docs/benchmarks.md).
"""

from __future__ import annotations

import os
import random
import statistics
import time
from datetime import timedelta

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django.db import connection
from django.utils import timezone

from crm.models import Membership, Tenant, User
from crm.tenancy.rls import tenant_context
from crm.tenancy.roles import Role
from customers.models import Customer, Vehicle
from opportunities.models import (
    CustomerLeavingRisk,
    EntryStatus,
    ScoreMethod,
    VehicleReplacementScore,
    WorklistEntry,
)
from opportunities.worklist import shop_today, week_of, worklist_refresh

BATCH = 5_000


class Command(BaseCommand):
    help = "Benchmark the weekly list refresh: N staff members, M scored vehicles (seconds per refresh)."

    def add_arguments(self, parser):
        parser.add_argument("--staff", type=int, default=50)
        parser.add_argument("--vehicles", type=int, default=100_000)
        parser.add_argument("--runs", type=int, default=3)

    def handle(self, *args, **options):
        rng = random.Random(17)
        stamp = int(time.time())
        tenant = Tenant.objects.create(slug=f"bench-worklist-{stamp}", name="絆モータース ベンチ店")
        users = []
        try:
            with tenant_context(tenant.pk):
                started = time.perf_counter()
                users = self._plant(tenant, rng, stamp, options["staff"], options["vehicles"])
                self.stdout.write(f"planted in {time.perf_counter() - started:.1f} s")
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE")
            timings = []
            for _run in range(options["runs"]):
                started = time.perf_counter()
                added = worklist_refresh(tenant=tenant)
                timings.append(time.perf_counter() - started)
                self.stdout.write(f"refresh: {timings[-1]:.3f} s, {added} entries added")
            with tenant_context(tenant.pk):
                listed = WorklistEntry.objects.for_tenant(tenant).filter(status=EntryStatus.OPEN).count()
            self.stdout.write(
                f"{options['staff']} staff, {options['vehicles']} scored vehicles: {listed} entries; "
                f"refresh min {min(timings):.3f} s, median {statistics.median(timings):.3f} s "
                f"({connection.vendor}); load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
                f"cores: {os.cpu_count()}"
            )
        finally:
            with tenant_context(tenant.pk):
                tenant.delete()
            User.objects.filter(pk__in=[u.pk for u in users]).delete()

    def _plant(self, tenant, rng, stamp, n_staff, n_vehicles):
        password = make_password(None)
        users = User.objects.bulk_create(
            User(email=f"staff{i}-{stamp}@bench.test", display_name=f"担当 {i}", password=password)
            for i in range(n_staff)
        )
        Membership.objects.bulk_create(Membership(tenant=tenant, user=u, role=Role.STAFF) for u in users)
        n_customers = n_vehicles * 3 // 4  # a third of the customers own two vehicles
        customers = []
        for start in range(0, n_customers, BATCH):
            customers += Customer.objects.bulk_create(
                Customer(
                    tenant=tenant,
                    family_name="山田",
                    given_name=f"{i}",
                    assigned_staff=None if i % 20 == 0 else users[i % n_staff],
                )
                for i in range(start, min(start + BATCH, n_customers))
            )
        owners = customers + customers[: n_vehicles - n_customers]
        now = timezone.now()
        for start in range(0, n_vehicles, BATCH):
            cars = Vehicle.objects.bulk_create(
                Vehicle(tenant=tenant, customer=c, maker="トヨタ", model_name="プリウス")
                for c in owners[start : start + BATCH]
            )
            scores = []
            for car in cars:
                p = rng.random() * 0.6
                margin = rng.randint(100, 800) * 1_000
                scores.append(
                    VehicleReplacementScore(
                        tenant=tenant,
                        vehicle=car,
                        customer_id=car.customer_id,
                        probability=p,
                        expected_margin=margin,
                        expected_value=round(p * margin),
                        method=ScoreMethod.MODEL,
                        facts={"mileage": rng.randint(10, 200) * 1_000, "inspections": rng.randint(0, 5)},
                        scored_at=now,
                    )
                )
            VehicleReplacementScore.objects.bulk_create(scores)
        CustomerLeavingRisk.objects.bulk_create(
            (
                CustomerLeavingRisk(
                    tenant=tenant,
                    customer=c,
                    p_alive=(p := rng.random()),
                    p_alive_month_ago=min(1.0, p + 0.2),
                    overdue_days=rng.randint(0, 200),
                    value=(v := rng.randint(50, 900) * 1_000),
                    expected_value=round((1 - p) * v * 0.3),
                    facts={"overdue_days": 40},
                    scored_at=now,
                )
                for c in customers[::5]
            ),
            batch_size=BATCH,
        )
        last_week = week_of(shop_today(tenant)) - timedelta(days=7)
        WorklistEntry.objects.bulk_create(
            WorklistEntry(
                tenant=tenant,
                week=last_week,
                rank=1,
                kind="replacement",
                customer=c,
                probability=0.5,
                status=EntryStatus.DISMISSED,
                dismissed_at=now - timedelta(days=3),
            )
            for c in rng.sample(customers, 500)
        )
        return users
