"""`manage.py bench_bookings`: the booking targets of docs/benchmarks.md ("## Bookings").

1. Seeds one shop (`bench-bookings`) with the default capacity and `--bookings` (10,000) bookings:
   as many as its pits hold over the next 60 days at ~70 % occupancy, the rest in the two years
   before (rows written set-based with bulk_create, seats included, as the services would).
2. Free slots of each work type for the 60-day horizon: the computation alone (`free_slots`), and the
   whole API request (`GET /api/v1/booking-slots/`, through Django's handler) twice: with the slot
   cache dropped before every request (what a request costs that computes its answer) and as it
   runs (cached between claims); `--repeat` times each, median and max.
3. The calendar week view (the busiest week), server-side through Django's handler, as the owner.
4. The public booking page (a reminder's link): gunicorn on loopback (`--workers`, default: as
   gunicorn.conf.py says) and wrk with 1, then 20 connections for `--seconds`, every request a
   random one of 200 reminders' links; p50/p95/p99 and errors.
5. A summary: one line per target with the figure, met or missed, and the load average.

Run it on a database of its own, under the shared benchmark lock:
`benchmarks/bookings.sh` (creates the database, `kizuna_bookings_bench` or $BOOKINGS_DB, migrates,
runs this command with `--settings=benchmarks.settings`).
"""

from __future__ import annotations

import os
import random
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse
from django.utils import timezone

from benchmarks.localports import free_port, wait_for_port
from bookings import services, slot_cache
from bookings import slots as slot_math
from bookings.models import Booking, BookingStatus, SlotClaim, WorkType
from crm.api.keys import api_key_create
from crm.models import Tenant, User
from crm.tenancy.rls import tenant_context
from crm.tenancy.services import tenant_create
from customers.models import Customer, Vehicle
from reminders.links import booking_token
from reminders.models import Reminder, ReminderRule, RuleKind

SLUG = "bench-bookings"
OWNER = "owner@bench-bookings.test"
LUA = Path(__file__).resolve().parents[3] / "benchmarks" / "bookings_load.lua"
OCCUPANCY = 0.7
CUSTOMERS = 2_000
LINKS = 200  # reminder links the load test picks from
# The targets of issue #15 (docs/benchmarks.md, "## Bookings"), in ms.
TARGET_SLOTS_MS = 50
TARGET_PAGE_P95_MS = 150
TARGET_CALENDAR_MS = 200


class Command(BaseCommand):
    help = "Booking benchmarks: free slots (60 days, 10,000 bookings), calendar week, public page under load."

    def add_arguments(self, parser):
        parser.add_argument("--bookings", type=int, default=10_000)
        parser.add_argument("--repeat", type=int, default=30)
        parser.add_argument("--seconds", type=int, default=20)
        parser.add_argument("--connections", type=int, default=20)
        parser.add_argument(
            "--workers", type=int, default=None, help="gunicorn workers (default: gunicorn.conf.py's)"
        )
        parser.add_argument("--skip-load", action="store_true", help="skip the gunicorn + wrk run")
        parser.add_argument("--load-only", action="store_true", help="only the gunicorn + wrk run")

    def handle(self, *args, **opts):
        if connection.vendor != "postgresql":
            raise CommandError("bench_bookings needs PostgreSQL (DATABASE_URL=postgres://...)")
        self.stdout.write(f"load average at start: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
        tenant = self._seed(opts["bookings"])
        self.secret_key = secrets.token_urlsafe(64)  # the load test's server and its links share it
        self.summary: list[str] = []
        with tenant_context(tenant.pk):
            if not opts["load_only"]:
                self._slots(tenant, opts["repeat"])
                self._calendar(tenant, opts["repeat"])
            with override_settings(SECRET_KEY=self.secret_key):
                links = self._links(tenant)
        if not opts["skip_load"]:
            self._load(links, opts)
        self.stdout.write(f"load average at end: {os.getloadavg()[0]:.1f}")
        self.stdout.write(f"SUMMARY ({os.cpu_count()} cores, cache {settings.CACHES['default']['BACKEND']}):")
        for line in self.summary:
            self.stdout.write(f"  {line}")

    def _target(self, what: str, figure: float, target: float, detail: str) -> None:
        verdict = "met" if figure < target else "MISSED"
        self.summary.append(
            f"{what} < {target:g} ms: {detail} -> {verdict} (load average {os.getloadavg()[0]:.1f})"
        )

    # --- 1. data ---------------------------------------------------------------------------------
    def _seed(self, wanted: int) -> Tenant:
        tenant = Tenant.objects.filter(slug=SLUG).first()
        if tenant is None:
            tenant = tenant_create(slug=SLUG, name="予約ベンチ自動車", owner_email=OWNER)
        with tenant_context(tenant.pk):
            services.booking_defaults_create(tenant=tenant)
            services.booking_settings_update(tenant=tenant, data={"lead_time_hours": 0})
            have = Booking.objects.for_tenant(tenant).count()
            if have >= wanted:
                self.stdout.write(f"data: {have:,} bookings already there")
                return tenant
            started = time.perf_counter()
            with transaction.atomic():
                self._generate(tenant, wanted)
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE bookings_booking; ANALYZE bookings_slotclaim")
            self.stdout.write(
                f"data: {Booking.objects.for_tenant(tenant).count():,} bookings, "
                f"{SlotClaim.objects.for_tenant(tenant).count():,} seat claims "
                f"({time.perf_counter() - started:.0f} s)"
            )
        return tenant

    def _generate(self, tenant: Tenant, wanted: int) -> None:
        rng = random.Random(15)
        customers = Customer.objects.bulk_create(
            [
                Customer(tenant=tenant, family_name="予約", given_name=f"{i:04d}", email=f"c{i}@bench.test")
                for i in range(CUSTOMERS)
            ]
        )
        vehicles = Vehicle.objects.bulk_create(
            [
                Vehicle(
                    tenant=tenant,
                    customer=c,
                    maker="トヨタ",
                    model_name="アクア",
                    plate_number=f"品川 500 あ {i:04d}",
                )
                for i, c in enumerate(customers)
            ]
        )
        work_types = list(WorkType.objects.for_tenant(tenant))
        now = timezone.now()
        zone = slot_math.shop_zone(tenant)
        today = now.astimezone(zone).date()
        # The horizon first, at OCCUPANCY of every seat; a booking keeps one seat number for its cells.
        rows: list[tuple[WorkType, datetime, int]] = []
        for work_type in work_types:
            starts = slot_math.free_slots(
                tenant=tenant, work_type=work_type, start=today, end=today + timedelta(days=60), online=False
            )
            cells_busy: dict[tuple[datetime, int], bool] = {}
            for slot in starts:
                for seat in range(1, work_type.capacity + 1):
                    cells = slot_math.claim_cells(slot.starts_at, work_type.duration_minutes)
                    if rng.random() < OCCUPANCY and not any(cells_busy.get((c, seat)) for c in cells):
                        for c in cells:
                            cells_busy[(c, seat)] = True
                        rows.append((work_type, slot.starts_at, seat))
        future = len(rows)
        # The rest: history, two years back, done.
        past_days = [today - timedelta(days=d) for d in range(1, 731)]
        while len(rows) < wanted:
            work_type = rng.choice(work_types)
            day = rng.choice(past_days)
            rows.append(
                (work_type, datetime.combine(day, datetime.min.time(), tzinfo=zone) + timedelta(hours=9), 0)
            )
        rows = rows[:wanted]
        bookings = []
        for i, (work_type, starts_at, _seat) in enumerate(rows):
            vehicle = vehicles[i % len(vehicles)]
            bookings.append(
                Booking(
                    tenant=tenant,
                    customer_id=vehicle.customer_id,
                    vehicle=vehicle,
                    work_type=work_type,
                    starts_at=starts_at,
                    ends_at=starts_at + timedelta(minutes=work_type.duration_minutes),
                    status=BookingStatus.CONFIRMED if starts_at >= now else BookingStatus.DONE,
                    source="phone",
                )
            )
        Booking.objects.bulk_create(bookings, batch_size=2_000)
        claims = [
            SlotClaim(tenant=tenant, booking=b, work_type=b.work_type, starts_at=cell, seat=seat)
            for b, (_w, _s, seat) in zip(bookings, rows, strict=True)
            if seat
            for cell in slot_math.claim_cells(b.starts_at, b.work_type.duration_minutes)
        ]
        SlotClaim.objects.bulk_create(claims, batch_size=5_000)
        self.stdout.write(f"  {future:,} bookings in the next 60 days, {len(rows) - future:,} before")

    # --- 2. slots --------------------------------------------------------------------------------
    def _slots(self, tenant: Tenant, repeat: int) -> None:
        today = timezone.localdate()
        owner = User.objects.get(email=OWNER)
        _key, raw = api_key_create(tenant=tenant, name="bench-bookings", scope="read", created_by=owner)
        client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
        self.stdout.write(
            f"free slots, 60-day horizon (median / max of {repeat} runs, ms; API uncached = the slot "
            f"cache dropped before each request, cached = as it runs between claims):"
        )
        worst_uncached, worst_cached, worst_max = 0.0, 0.0, 0.0
        for work_type in WorkType.objects.for_tenant(tenant).order_by("position"):
            compute, uncached, cached = [], [], []
            url = (
                f"/api/v1/booking-slots/?work_type={work_type.pk}&date_from={today}"
                f"&date_to={today + timedelta(days=60)}"
            )
            with override_settings(KIZUNA_API_RATE="1000000/min"):
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    found = slot_math.free_slots(
                        tenant=tenant, work_type=work_type, start=today, end=today + timedelta(days=60)
                    )
                    compute.append((time.perf_counter() - t0) * 1000)
                    slot_cache.forget_now(tenant_id=tenant.pk)
                    uncached.append(self._timed_get(client, url))
                    cached.append(self._timed_get(client, url))
            booked = SlotClaim.objects.for_tenant(tenant).filter(work_type=work_type).count()
            self.stdout.write(
                f"  {work_type.name:10} {len(found):5} free slots, {booked:6,} claims: "
                f"compute {statistics.median(compute):6.1f} / {max(compute):6.1f}   "
                f"API uncached {statistics.median(uncached):6.1f} / {max(uncached):6.1f}   "
                f"cached {statistics.median(cached):6.1f} / {max(cached):6.1f}"
            )
            worst_uncached = max(worst_uncached, statistics.median(uncached))
            worst_cached = max(worst_cached, statistics.median(cached))
            worst_max = max(worst_max, max(uncached))
        self._target(
            "free slots API, whole request, slowest work type's median",
            worst_uncached,
            TARGET_SLOTS_MS,
            f"uncached {worst_uncached:.1f} ms (slowest single request {worst_max:.1f}), "
            f"cached {worst_cached:.1f} ms",
        )

    def _timed_get(self, client: Client, url: str) -> float:
        t0 = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - t0) * 1000
        if response.status_code != 200:
            raise CommandError(f"{url}: {response.status_code}")
        return elapsed

    # --- 3. calendar -----------------------------------------------------------------------------
    def _calendar(self, tenant: Tenant, repeat: int) -> None:
        client = Client()
        client.force_login(User.objects.get(email=OWNER))
        today = timezone.localdate()
        week = today + timedelta(days=7)
        n = (
            Booking.objects.for_tenant(tenant)
            .filter(
                starts_at__date__gte=week - timedelta(days=week.weekday()),
                starts_at__date__lt=week - timedelta(days=week.weekday()) + timedelta(days=7),
            )
            .count()
        )
        url = reverse("bookings:calendar") + f"?date={week.isoformat()}&view=week"
        timings = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - t0) * 1000)
            if response.status_code != 200:
                raise CommandError(f"calendar: {response.status_code}")
        self.stdout.write(
            f"calendar week view ({n} bookings in the week): median {statistics.median(timings):.1f} ms, "
            f"max {max(timings):.1f} ms"
        )
        self._target(
            "calendar week view, median",
            statistics.median(timings),
            TARGET_CALENDAR_MS,
            f"{statistics.median(timings):.1f} ms (max {max(timings):.1f}, {n} bookings in the week)",
        )

    # --- 4. public page under load ---------------------------------------------------------------
    def _links(self, tenant: Tenant) -> list[str]:
        rule = ReminderRule.objects.for_tenant(tenant).get(kind=RuleKind.INSPECTION)
        vehicles = list(Vehicle.objects.for_tenant(tenant).order_by("pk")[:LINKS])
        today = timezone.localdate()
        Reminder.objects.bulk_create(
            [
                Reminder(
                    tenant=tenant,
                    rule=rule,
                    step=9,
                    customer_id=v.customer_id,
                    vehicle=v,
                    occasion_date=today + timedelta(days=400),
                    due_date=today,
                    status="sent",
                )
                for v in vehicles
            ],
            ignore_conflicts=True,
        )
        reminders = Reminder.objects.for_tenant(tenant).filter(step=9).order_by("pk")[:LINKS]
        return [
            reverse(
                "bookings_public:from_reminder",
                kwargs={"token": booking_token(tenant_id=tenant.pk, reminder_id=r.pk)},
            )
            for r in reminders
        ]

    def _load(self, links: list[str], opts) -> None:
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            f.write("\n".join(links) + "\n")
            paths = f.name
        port = free_port()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
            # The links were signed in this process: the server must check them with the same key.
            "SECRET_KEY": self.secret_key,
            "DEBUG": "false",
            "CONN_MAX_AGE": "60",
            "SECURE_SSL_REDIRECT": "false",
            "LOG_LEVEL": "WARNING",
        }
        gunicorn = Path(sys.executable).with_name("gunicorn")
        workers = ["-w", str(opts["workers"])] if opts["workers"] else []
        label = f"{opts['workers']} workers" if opts["workers"] else "workers as gunicorn.conf.py"
        server = subprocess.Popen(  # loopback only; gunicorn.conf.py (cwd) is read as in production
            [str(gunicorn), "crm.wsgi:application", *workers, "-b", f"127.0.0.1:{port}",
             "--log-level", "warning", "--timeout", "60"],
            env=env,
            cwd=settings.BASE_DIR,
        )  # fmt: skip
        try:
            wait_for_port(port, timeout=60)
            self._warm_up(port, links)
            # One client first (the server time of one request), then the concurrent clients.
            for connections in (1, opts["connections"]):
                load = os.getloadavg()[0]
                r = self._wrk(port, paths, opts["seconds"], connections)
                errors = r["status_errors"] + r["socket_errors"]
                self.stdout.write(
                    f"public booking page, {connections} connection(s), {opts['seconds']} s, "
                    f"gunicorn {label}: {r['requests']:,} requests "
                    f"({r['requests'] / (r['duration_us'] / 1e6):.1f}/s), "
                    f"p50 {r['p50_us'] / 1000:.1f} ms, p95 {r['p95_us'] / 1000:.1f} ms, "
                    f"p99 {r['p99_us'] / 1000:.1f} ms, errors {errors} "
                    f"(load average {load:.1f} before the run)"
                )
            p95 = r["p95_us"] / 1000
            rate = r["requests"] / (r["duration_us"] / 1e6)
            self._target(
                f"public booking page p95 at {opts['connections']} clients",
                p95 if errors == 0 else float("inf"),
                TARGET_PAGE_P95_MS,
                f"p95 {p95:.1f} ms, p50 {r['p50_us'] / 1000:.1f} ms, "
                f"{rate:.1f} requests/s, {errors} errors, gunicorn {label}",
            )
        finally:
            server.terminate()
            server.wait(timeout=30)
            Path(paths).unlink(missing_ok=True)

    def _warm_up(self, port: int, links: list[str]) -> None:
        """Sequential requests until the server answers quickly: each worker's first requests load
        templates and fill the slot cache, and a burst of 20 concurrent cold requests would still be
        queued when the measured run starts."""
        fast = 0
        deadline = time.monotonic() + 120
        while fast < 10 and time.monotonic() < deadline:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}{random.choice(links)}",
                headers={"X-Forwarded-Proto": "https", "Accept-Language": "ja"},
            )
            t0 = time.perf_counter()
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                if response.status != 200:
                    raise CommandError(f"warm-up: {response.status}")
            fast = fast + 1 if time.perf_counter() - t0 < 0.2 else 0

    def _wrk(self, port: int, paths: str, seconds: int, connections: int) -> dict[str, int]:
        cmd = [
            "wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s",
            "-s", str(LUA), f"http://127.0.0.1:{port}", "--", paths,
        ]  # fmt: skip
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
        match = re.search(r"^RESULT (.*)$", out.stdout, re.M)
        if match is None:
            raise CommandError(f"wrk failed:\n{out.stdout}\n{out.stderr}")
        return {k: int(v) for k, v in (item.split("=") for item in match.group(1).split())}
