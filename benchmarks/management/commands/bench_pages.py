"""Time the dashboard's main pages rendered server-side for one (big) tenant: median and p95 ms, queries.

    DATABASE_URL=postgres://…/kizuna_bench manage.py bench_pages --settings=benchmarks.settings \\
        --tenant bench-big --runs 15

Each page is requested through Django's test client (full middleware, templates, session) as the
tenant's owner, after one warm-up request; the figure is the server-side time, without a browser.
"""

from __future__ import annotations

import statistics
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm.models import Membership, Tenant
from crm.tenancy.middleware import SESSION_KEY
from crm.tenancy.roles import Role
from customers.models import Customer, Vehicle
from interactions.models import Deal


class Command(BaseCommand):
    help = "Render the main dashboard pages for a tenant and report the median time and query count."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--runs", type=int, default=15)

    def handle(self, *args, tenant: str, runs: int, **opts):
        t = Tenant.objects.filter(slug=tenant).first()
        if t is None:
            raise CommandError(f"No tenant {tenant!r}")
        membership = Membership.objects.for_tenant(t).filter(role=Role.OWNER).select_related("user").first()
        if membership is None:
            raise CommandError("The tenant has no owner to log in as.")
        client = Client()
        client.force_login(membership.user)
        session = client.session
        session[SESSION_KEY] = t.pk
        session.save()
        # The customer with the longest history: the heaviest Customer 360 page.
        busiest = (
            Customer.objects.for_tenant(t)
            .annotate(n=Count("purchases", distinct=True))
            .order_by("-n")
            .values_list("pk", flat=True)
            .first()
        )
        vehicle = Vehicle.objects.for_tenant(t).order_by("pk").values_list("pk", flat=True).first()
        today = timezone.localdate()
        pages = [
            ("Today", reverse("today")),
            ("Customers", reverse("customers:list")),
            ("Customers, page 200", reverse("customers:list") + "?page=200"),
            ("Customers, search by name", reverse("customers:list") + "?q=%E5%B1%B1%E7%94%B0"),
            ("Customers, search by phone", reverse("customers:list") + "?q=090-12"),
            ("Customers, consent + inspection due", reverse("customers:list")
             + f"?consent=opted_in&inspection_from={today}&inspection_to={today.replace(day=28)}"),
            ("Customers, sorted by inspection", reverse("customers:list") + "?sort=inspection"),
            ("Customer 360 (busiest)", reverse("customers:detail", args=[busiest])),
            ("Vehicles, expiring in 30 days", reverse("customers:vehicles") + "?expiry=30"),
            ("Vehicle page", reverse("customers:vehicle", args=[vehicle])),
            ("Deals board", reverse("deals")),
            ("Import", reverse("customers:import")),
            ("Settings: members", reverse("settings_members")),
            ("Settings: handover", reverse("settings_handover")),
        ]  # fmt: skip
        self.stdout.write(
            f"tenant {t.slug}: {Customer.objects.for_tenant(t).count():,} customers, "
            f"{Deal.objects.for_tenant(t).count():,} deals; {runs} runs per page\n"
        )
        self.stdout.write("| page | median ms | p95 ms | queries |\n|---|---|---|---|")
        for name, url in pages:
            response = client.get(url)
            if response.status_code != 200:
                raise CommandError(f"{name}: HTTP {response.status_code} for {url}")
            timings = []
            for _ in range(runs):
                with CaptureQueriesContext(connection) as ctx:
                    start = time.perf_counter()
                    response = client.get(url)
                    _ = response.content
                    timings.append((time.perf_counter() - start) * 1000)
            timings.sort()
            p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
            self.stdout.write(
                f"| {name} | {statistics.median(timings):.0f} | {p95:.0f} | {len(ctx.captured_queries)} |"
            )
