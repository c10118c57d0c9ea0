"""Load deterministic demo data: `seed_demo [--tenant SLUG] [--customers N] [--years Y] [--seed S]`.

Without --tenant it creates the two demo shops (demo-dealer, demo-garage) with an owner, a manager,
a staff member and a viewer each (password `kizuna-demo`). With --tenants N it creates N benchmark
tenants `bench-0001`… sharing --customers between them.
"""

import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from analytics.services import analytics_refresh_tenant
from crm.tenancy.rls import tenant_context
from customers.models import Customer
from opportunities.services import opportunities_refresh
from opportunities.worklist import worklist_refresh
from reminders.planner import plan_reminders
from workspace.demo import DEMO_TENANTS, demo_tenant_with_staff, seed_tenant
from workspace.demo.bookings import seed_bookings
from workspace.demo.line import seed_line
from workspace.demo.results import seed_results


class Command(BaseCommand):
    help = "Load deterministic, realistic demo data (Japanese customers, vehicles, histories)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="seed only this tenant (created as a dealership if missing)")
        parser.add_argument("--customers", type=int, help="customers per tenant (with --tenants: in total)")
        parser.add_argument("--years", type=int, default=5, help="years of history (default 5)")
        parser.add_argument("--seed", type=int, default=1, help="random seed (same seed, same data)")
        parser.add_argument("--tenants", type=int, help="create this many benchmark tenants bench-0001…")
        parser.add_argument(
            "--today", type=date.fromisoformat, help="reference date (default: today in Tokyo)"
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="skip tenants that already have customers"
        )
        parser.add_argument("--reset", action="store_true", help="delete the tenant's customers first")
        parser.add_argument(
            "--no-refresh",
            action="store_true",
            help="skip the analytics refresh and reminder planning (benchmarks time them apart)",
        )

    def handle(self, *args, **opts):
        today = opts["today"] or timezone.localdate()
        started = time.perf_counter()
        if opts["tenants"]:
            total = opts["customers"] or 1000 * opts["tenants"]
            per_tenant = max(1, total // opts["tenants"])
            specs = [
                (
                    f"bench-{i:04d}",
                    {
                        "name": f"Bench {i:04d}",
                        "kind": "dealer" if i % 2 else "garage",
                        "customers": per_tenant,
                        "domain": f"bench-{i:04d}.demo",
                    },
                    i,
                )
                for i in range(1, opts["tenants"] + 1)
            ]
        elif opts["tenant"]:
            spec = dict(
                DEMO_TENANTS.get(
                    opts["tenant"],
                    {
                        "name": opts["tenant"],
                        "kind": "dealer",
                        "customers": 300,
                        "domain": f"{opts['tenant']}.demo",
                    },
                )
            )
            if opts["customers"]:
                spec["customers"] = opts["customers"]
            specs = [(opts["tenant"], spec, 0)]
        else:
            specs = []
            for slug, spec in DEMO_TENANTS.items():
                spec = dict(spec)
                if opts["customers"]:
                    spec["customers"] = opts["customers"]
                specs.append((slug, spec, 0))

        totals: dict[str, int] = {}
        for slug, spec, stream in specs:
            tenant, staff_ids = demo_tenant_with_staff(slug, spec, with_team=not opts["tenants"])
            # Each shop's rows are read and written with it as the database tenant (row-level security).
            with tenant_context(tenant.pk):
                if Customer.objects.for_tenant(tenant).exists():
                    if opts["if_empty"]:
                        self.stdout.write(f"{slug}: already has customers, skipped")
                        continue
                    if not opts["reset"]:
                        raise CommandError(f"{slug} already has customers; pass --reset to replace them")
                    with transaction.atomic():
                        Customer.objects.for_tenant(tenant).delete()
                counts = seed_tenant(
                    tenant=tenant,
                    kind=spec["kind"],
                    customers=spec["customers"],
                    years=opts["years"],
                    seed=opts["seed"],
                    today=today,
                    staff_ids=staff_ids,
                    stream=stream,
                )
                for key, value in counts.items():
                    totals[key] = totals.get(key, 0) + value
                if not opts["tenants"]:  # a year of reminders with a control group (the Results page)
                    simulated = seed_results(tenant=tenant, today=today, seed=opts["seed"])
                    self.stdout.write(f"{slug}: simulated year of reminders {simulated}")
                if not opts["no_refresh"] and not opts["tenants"]:
                    # A demo shop opens with fresh RFM segments, KPIs, LTV and this month's reminders planned.
                    analytics_refresh_tenant(tenant=tenant, as_of=today)
                    planned = plan_reminders(on=today, tenant_id=tenant.pk)
                    opportunities_refresh(tenant=tenant, as_of=today)  # replacement and leaving scores (#17)
                    listed = worklist_refresh(tenant=tenant)  # this week's list on Today
                    self.stdout.write(f"{slug}: this week's list has {listed} entries")
                    self.stdout.write(f"{slug}: analytics refreshed, reminders planned {planned}")
                if not opts["tenants"]:
                    booked = seed_bookings(tenant=tenant, today=today, seed=opts["seed"])
                    self.stdout.write(f"{slug}: capacity and {booked} bookings for the coming week")
                    line = seed_line(tenant=tenant, today=today, seed=opts["seed"])
                    self.stdout.write(f"{slug}: " + ", ".join(f"{k} {v}" for k, v in line.items()))
                if not opts["tenants"]:
                    self.stdout.write(f"{slug}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        elapsed = time.perf_counter() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"seeded {len(specs)} tenant(s) in {elapsed:.1f} s: "
                + ", ".join(f"{k} {v}" for k, v in totals.items())
            )
        )
