# ruff: noqa: S608 -- SQL built from constants; the only inputs are integers passed as parameters.
"""Benchmark of the reminder planner and dispatcher (PostgreSQL + Redis; use a throw-away database).

    export DJANGO_SETTINGS_MODULE=benchmarks.settings DATABASE_URL=postgres://…/kizuna_bench \\
        CELERY_BROKER_URL=redis://…/1
    python manage.py bench_reminders --plan --tenants 1000 --vehicles 1000000
    python manage.py bench_reminders --dispatch 20000
    python manage.py bench_reminders --dispatch 100000 --channel line

--plan generates the tenants, customers and vehicles with set-based SQL (no ORM loop), then times
`plan_reminders` twice (the second run must create nothing). --dispatch starts an aiosmtpd sink in
this process (or, with --channel line, the fake LINE API of tests/fakes/line_api.py in a process of
its own) and one Celery worker of two processes, and measures messages/s and worker memory.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import requests
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test.utils import override_settings
from django.utils import timezone

from channels.services import channel_settings_update
from crm.models import Tenant
from reminders.models import Reminder
from reminders.planner import plan_reminders
from reminders.services import reminder_defaults_create

PREFIX = "rbench-"
LINE_BENCH_TOKEN = "bench-line-token"  # noqa: S105 -- the fake LINE API's, for the benchmark only
WORKER_NAME = "reminders-bench@" + socket.gethostname()
_REMINDER_HEADER = re.compile(rb"^X-Kizuna-Reminder: *(\d+)", re.MULTILINE)


class Command(BaseCommand):
    help = "Benchmark reminder planning (1,000 tenants / 1,000,000 vehicles) and dispatch to an SMTP sink."

    def add_arguments(self, parser):
        parser.add_argument("--plan", action="store_true")
        parser.add_argument("--tenants", type=int, default=1000)
        parser.add_argument("--vehicles", type=int, default=1_000_000)
        parser.add_argument("--dispatch", type=int, default=0, help="messages to send through the worker")
        parser.add_argument("--concurrency", type=int, default=2)
        parser.add_argument(
            "--holdout", type=int, default=0, help="--plan: every rule's holdout share in percent (0-50)"
        )
        parser.add_argument(
            "--channel",
            choices=["email", "line"],
            default="email",
            help="dispatch by e-mail (aiosmtpd sink) or LINE pushes (the fake LINE API in its own process)",
        )

    def handle(self, *args, **opts):
        if connection.vendor != "postgresql":
            raise CommandError("bench_reminders needs PostgreSQL (DATABASE_URL=postgres://…)")
        self.stdout.write(self._machine())
        if opts["plan"]:
            self._bench_plan(opts["tenants"], opts["vehicles"], opts["holdout"])
        if opts["dispatch"]:
            self._bench_dispatch(opts["dispatch"], opts["concurrency"], opts["channel"])

    # --- environment ----------------------------------------------------------------------------
    def _machine(self) -> str:
        with connection.cursor() as c:
            c.execute("SHOW server_version")
            pg = c.fetchone()[0]
        meminfo = Path("/proc/meminfo").read_text().splitlines()
        mem_kb = int(next(line.split()[1] for line in meminfo if line.startswith("MemTotal")))
        return f"machine: nproc={os.cpu_count()} RAM={mem_kb / 1024 / 1024:.1f} GiB PostgreSQL {pg}"

    # --- planning ---------------------------------------------------------------------------------
    def _bench_plan(self, n_tenants: int, n_vehicles: int, holdout: int = 0) -> None:
        started = time.perf_counter()
        existing = Tenant.objects.filter(slug__startswith=PREFIX).exclude(slug=PREFIX + "dispatch").count()
        if existing == 0:
            self._generate(n_tenants, n_vehicles)
            self.stdout.write(f"data generated in {time.perf_counter() - started:.1f}s")
        elif existing != n_tenants:
            raise CommandError(f"{existing} bench tenants exist, not {n_tenants}: use a fresh database")
        with connection.cursor() as c:
            # Reusing generated data: forget earlier plans so run 1 plans from scratch.
            c.execute(
                "DELETE FROM reminders_reminder WHERE tenant_id IN (SELECT id FROM crm_tenant WHERE slug "
                "LIKE %s)",
                [PREFIX + "%"],
            )
            c.execute(
                "SELECT count(*) FROM customers_vehicle v JOIN crm_tenant t ON t.id = v.tenant_id "
                "AND t.slug LIKE %s",
                [PREFIX + "%"],
            )
            self.stdout.write(f"{n_tenants} tenants, {c.fetchone()[0]} vehicles (one customer each)")
            # The control group's hash is computed only for rules with a share above 0.
            c.execute(
                "UPDATE reminders_reminderrule SET holdout_percent = %s WHERE tenant_id IN "
                "(SELECT id FROM crm_tenant WHERE slug LIKE %s)",
                [holdout, PREFIX + "%"],
            )
            self.stdout.write(f"holdout {holdout} % on every rule")
        with connection.cursor() as c:
            # No dead index entries from earlier runs (a fresh database has none either), fresh statistics.
            c.execute("VACUUM ANALYZE reminders_reminder")
            c.execute("ANALYZE")
        on = timezone.localdate()
        # 1: cold start (the whole window), 2: the same day again (must create nothing),
        # 3: the next day (the steady-state daily run: one new day of reminders).
        for run, day in ((1, on), (2, on), (3, on + timedelta(days=1))):
            t0 = time.perf_counter()
            created = plan_reminders(on=day)
            elapsed = time.perf_counter() - t0
            self.stdout.write(
                f"plan run {run} ({day}): {elapsed:.2f}s, created {sum(created.values())} reminders "
                f"{dict(created)}"
            )
        with connection.cursor() as c:
            c.execute(
                "SELECT count(*) FILTER (WHERE status = 'held_out'), count(*) FROM reminders_reminder "
                "WHERE tenant_id IN (SELECT id FROM crm_tenant WHERE slug LIKE %s)",
                [PREFIX + "%"],
            )
            held, total = c.fetchone()
            self.stdout.write(f"held out: {held} of {total} reminders")

    @transaction.atomic
    def _generate(self, n_tenants: int, n_vehicles: int) -> None:
        with connection.cursor() as c:
            c.execute(
                "INSERT INTO crm_tenant (slug, name, time_zone, currency, sender_email, sender_name, phone, "
                "address, send_window_start, send_window_end, six_month_check_enabled, churn_horizon_months, "
                "require_two_factor, created_at) SELECT %s || lpad(g::text, 4, '0'), 'Bench ' || g, "
                "'Asia/Tokyo', 'JPY', 'info@bench' || g || '.test', '', '03-0000-0000', '東京都', '09:00', "
                "'19:00', g %% 2 = 0, 18, false, now() "
                "FROM generate_series(1, %s) g",
                [PREFIX, n_tenants],
            )
        # Rules and templates: made once through the service, then copied set-based to every tenant.
        first = Tenant.objects.filter(slug__startswith=PREFIX).order_by("id").first()
        reminder_defaults_create(tenant=first)
        with connection.cursor() as c:
            others = "SELECT id FROM crm_tenant WHERE slug LIKE %s AND id <> %s"
            args = [PREFIX + "%", first.pk]
            c.execute(
                "INSERT INTO reminders_remindertemplate (tenant_id, name, language, subject, body, "
                "updated_at) "
                f"SELECT t.id, x.name, x.language, x.subject, x.body, now() FROM ({others}) t "
                "CROSS JOIN reminders_remindertemplate x WHERE x.tenant_id = %s",
                [*args, first.pk],
            )
            c.execute(
                "INSERT INTO reminders_reminderrule (tenant_id, name, kind, template_id, is_active, "
                "season_months, "
                "season_day, audience_segment, audience_tag, allowed_channels, holdout_percent, "
                "holdout_salt, attribution_days, created_at) "
                "SELECT t.id, x.name, x.kind, tt.id, x.is_active, x.season_months, x.season_day, "
                "x.audience_segment, x.audience_tag, x.allowed_channels, x.holdout_percent, "
                # each rule its own salt, as new_holdout_salt() gives it
                "substr(md5(random()::text), 1, 16), x.attribution_days, "
                f"now() FROM ({others}) t "
                "CROSS JOIN reminders_reminderrule x JOIN reminders_remindertemplate xt ON xt.id = "
                "x.template_id "
                "JOIN reminders_remindertemplate tt ON tt.tenant_id = t.id AND tt.name = xt.name "
                "AND tt.language = xt.language WHERE x.tenant_id = %s",
                [*args, first.pk],
            )
            c.execute(
                "INSERT INTO reminders_reminderstep (tenant_id, rule_id, step, offset_days, month) "
                "SELECT r.tenant_id, r.id, s.step, s.offset_days, s.month FROM reminders_reminderrule r "
                "JOIN crm_tenant t ON t.id = r.tenant_id AND t.slug LIKE %s AND t.id <> %s "
                "JOIN reminders_reminderrule x ON x.tenant_id = %s AND x.name = r.name "
                "JOIN reminders_reminderstep s ON s.rule_id = x.id",
                [*args, first.pk],
            )
            c.execute(
                "INSERT INTO customers_purchasecategory (tenant_id, code, name) SELECT id, 'other', 'Other' "
                "FROM crm_tenant WHERE slug LIKE %s ON CONFLICT DO NOTHING",
                [PREFIX + "%"],
            )
            tenant_ids = "(SELECT array_agg(id ORDER BY id) AS ids FROM crm_tenant WHERE slug LIKE %s)"
            # One customer and one vehicle per row; expiries spread over two years, birthdays over a year.
            c.execute(
                "INSERT INTO customers_customer (tenant_id, created_at, updated_at, external_ref, "
                "family_name, "
                "given_name, family_name_kana, given_name_kana, email, phone, postal_code, prefecture, "
                "address, "
                "birthday, gender, acquisition_channel, acquisition_cost, consent, consent_at, "
                "consent_source, notes) "
                "SELECT t.ids[1 + g %% array_length(t.ids, 1)], now(), now(), '', "
                "'山田', '太郎' || g, '', '', "
                "'c' || g || '@example.jp', '', '', '', '', DATE '1960-01-01' + (g * 37 %% 20000), "
                "'unknown', "
                "'other', 0, CASE WHEN g %% 5 = 0 THEN 'unknown' ELSE 'opted_in' END, now(), 'bench', '' "
                f"FROM {tenant_ids} t, generate_series(1, %s) g",
                [PREFIX + "%", n_vehicles],
            )
            c.execute(
                "INSERT INTO customers_vehicle (tenant_id, created_at, updated_at, customer_id, "
                "external_ref, "
                "maker, model_name, grade, plate_number, vin, inspection_expiry, status) "
                "SELECT c.tenant_id, now(), now(), c.id, '', 'トヨタ', 'プリウス', '', '', '', "
                "CURRENT_DATE + (c.id %% 730)::int - 30, 'owned' FROM customers_customer c "
                "JOIN crm_tenant t ON t.id = c.tenant_id AND t.slug LIKE %s",
                [PREFIX + "%"],
            )
            # A 車検 two years before expiry for one vehicle in five (drives the 12-month and 6-month checks).
            c.execute(
                "INSERT INTO customers_servicerecord (tenant_id, created_at, updated_at, customer_id, "
                "vehicle_id, "
                "external_ref, date, kind, amount, gross_profit, notes) "
                "SELECT v.tenant_id, now(), now(), v.customer_id, v.id, '', v.inspection_expiry - 730, "
                "'shaken', "
                "100000, 30000, '' FROM customers_vehicle v JOIN crm_tenant t ON t.id = v.tenant_id "
                "AND t.slug LIKE %s WHERE v.id %% 5 = 0",
                [PREFIX + "%"],
            )
            # A first purchase in the last 200 days for one customer in ten (follow-up and nurture).
            c.execute(
                "INSERT INTO customers_purchase (tenant_id, created_at, updated_at, customer_id, "
                "external_ref, "
                "date, category_id, amount, gross_profit, is_refund, description) "
                "SELECT c.tenant_id, now(), now(), c.id, '', CURRENT_DATE - (c.id %% 200)::int, pc.id, "
                "50000, "
                "10000, false, '' FROM customers_customer c JOIN crm_tenant t ON t.id = c.tenant_id "
                "AND t.slug LIKE %s JOIN customers_purchasecategory pc ON pc.tenant_id = c.tenant_id "
                "AND pc.code = 'other' WHERE c.id %% 10 = 0",
                [PREFIX + "%"],
            )

    # --- dispatch ---------------------------------------------------------------------------------
    def _bench_dispatch(self, n: int, concurrency: int, channel: str = "email") -> None:
        from aiosmtpd.controller import Controller

        from crm.celery import app
        from reminders.tasks import dispatch_due_reminders

        # A worker left behind by an interrupted run would hold reserved and retry-countdown tasks that a
        # purge cannot reach, and take a share of the new run's tasks towards a sink that is gone: the run
        # would wait minutes for those messages. Refuse to start instead.
        if app.control.ping(destination=[WORKER_NAME], timeout=1.0):
            raise CommandError(
                f"a benchmark worker ({WORKER_NAME}) from an earlier run is still running on this broker: "
                "stop it first (pgrep -af reminders-bench)"
            )
        app.control.purge()  # tasks left in the broker by an interrupted run
        slug = PREFIX + "dispatch"
        t_clean = time.perf_counter()
        self._drop_dispatch_tenant(slug)
        self._say(f"previous dispatch tenant removed in {time.perf_counter() - t_clean:.1f}s")
        tenant = Tenant.objects.create(
            slug=slug,
            name="Dispatch bench",
            sender_email="info@dispatch.test",
            phone="03-0000-0000",
            address="東京都",
            send_window_start="00:00",
            send_window_end="23:59:59",
        )
        reminder_defaults_create(tenant=tenant)
        with connection.cursor() as c:
            c.execute(
                "INSERT INTO customers_customer (tenant_id, created_at, updated_at, external_ref, "
                "family_name, "
                "given_name, family_name_kana, given_name_kana, email, phone, postal_code, prefecture, "
                "address, "
                "gender, acquisition_channel, acquisition_cost, consent, consent_at, consent_source, notes) "
                "SELECT %s, now(), now(), '', '山田', '太郎' || g, '', '', "
                "'d' || g || '@example.jp', '', '', "
                "'', "
                "'', 'unknown', 'other', 0, 'opted_in', now(), 'bench', '' FROM generate_series(1, %s) g",
                [tenant.pk, n],
            )
            c.execute(
                "INSERT INTO customers_vehicle (tenant_id, created_at, updated_at, customer_id, "
                "external_ref, "
                "maker, model_name, grade, plate_number, vin, inspection_expiry, status) "
                "SELECT tenant_id, now(), now(), id, '', 'トヨタ', 'プリウス', '', '品川 300 さ 12-34', '', "
                "CURRENT_DATE + 30, 'owned' FROM customers_customer WHERE tenant_id = %s",
                [tenant.pk],
            )
        encryption_key = Fernet.generate_key().decode()
        if channel == "line":
            # Every customer follows the shop's LINE account, and the shop sends LINE first.
            # The worker runs with a throw-away SECRET_KEY: give both sides one encryption key.
            with override_settings(CHANNELS_ENCRYPTION_KEY=encryption_key):
                channel_settings_update(
                    tenant=tenant,
                    channel_order="line,email",
                    line_channel_id="1650000000",
                    line_channel_secret="bench-secret",  # noqa: S106 -- the fake LINE API's
                    line_access_token=LINE_BENCH_TOKEN,
                )
            with connection.cursor() as c:
                c.execute(
                    "INSERT INTO channels_linecontact (tenant_id, line_user_id, customer_id, display_name, "
                    "following, followed_at, linked_at, last_error, created_at, updated_at) "
                    "SELECT tenant_id, 'U' || md5('bench-' || id), id, '', true, now(), now(), '', "
                    "now(), now() "
                    "FROM customers_customer WHERE tenant_id = %s",
                    [tenant.pk],
                )
        planned = sum(plan_reminders(tenant_id=tenant.pk).values())
        self._say(f"dispatch bench: {planned} reminders planned")

        received = [0]
        seen: set[int] = set()  # reminder ids (X-Kizuna-Reminder), to count each message once
        lock = threading.Lock()

        class Sink:
            async def handle_DATA(self, server, session, envelope):
                match = _REMINDER_HEADER.search(envelope.content)
                with lock:
                    received[0] += 1
                    seen.add(int(match.group(1)) if match else -received[0])
                return "250 OK"

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        fake_line = None
        if channel == "line":
            # The fake LINE API in a process of its own, so its HTTP handling does not share this one's
            # CPU time with the polling; it counts only (no per-message records: memory stays flat).
            fake_args = ["-m", "tests.fakes.line_api", "--port", str(port), "--quiet", "--token"]
            fake_line = subprocess.Popen(
                [sys.executable, *fake_args, LINE_BENCH_TOKEN],
                cwd=settings.BASE_DIR,
                stdout=subprocess.DEVNULL,
                start_new_session=True,
            )
            stats_url = f"http://127.0.0.1:{port}/__fake__/stats"
            stop_polling = threading.Event()

            def poll_line() -> None:
                session = requests.Session()
                while not stop_polling.is_set():
                    try:
                        stats = session.get(stats_url, timeout=2).json()
                    except (requests.RequestException, ValueError):
                        time.sleep(0.2)
                        continue
                    with lock:
                        received[0] = stats["delivered"]
                        seen.clear()
                        seen.update(range(stats["unique_keys"]))  # one retry key per reminder
                    time.sleep(0.1)

            poller = threading.Thread(target=poll_line, daemon=True)
            poller.start()
            sink = None
        else:
            # aiosmtpd logs every SMTP command at INFO: that would cost the sink more than the messages.
            logging.getLogger("mail.log").setLevel(logging.WARNING)
            sink = Controller(Sink(), hostname="127.0.0.1", port=port)
            sink.start()
        db = settings.DATABASES["default"]
        env = dict(os.environ)
        env.update(
            DATABASE_URL=(
                f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
            ),
            EMAIL_URL=f"smtp://127.0.0.1:{port}",
            LINE_BACKEND="http",
            CHANNELS_ENCRYPTION_KEY=encryption_key,
            LINE_API_BASE_URL=f"http://127.0.0.1:{port}",
            CONN_MAX_AGE="600",  # a worker keeps its database connection (production setting too)
            # … and Celery must not close it after every task (CELERY_DB_REUSE_MAX: benchmarks/settings.py).
            DJANGO_SETTINGS_MODULE=os.environ.get("BENCH_WORKER_SETTINGS", "benchmarks.settings"),
            DEBUG="false",
            # Production mode (DEBUG off) refuses the embedded key; a throw-away one for the benchmark.
            SECRET_KEY=os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
        )
        celery = str(Path(sys.executable).with_name("celery"))
        worker = subprocess.Popen(
            [
                celery,
                "-A",
                "crm",
                "worker",
                "-P",
                "prefork",
                "-c",
                str(concurrency),
                "-l",
                "warning",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                "reminders-bench@%h",
            ],
            cwd=settings.BASE_DIR,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
        )
        # `timeout` (or a plain kill) sends SIGTERM: unwind through `finally` so the worker, which runs in
        # its own session, is stopped too instead of living on (see the ping above).
        previous_handler = signal.signal(signal.SIGTERM, _exit_on_sigterm)
        try:
            time.sleep(8)  # worker start-up is not part of the measurement
            self._say(f"load average at start: {_loadavg()}")
            t0 = time.perf_counter()
            dispatch_due_reminders.delay()
            samples = [(0.0, 0, _tree_rss_mb(worker.pid))]  # (seconds, messages received, worker RSS MB)
            last = (t0, 0)
            # The clock stops when every reminder has reached the sink (a duplicate does not count twice).
            while len(seen) < planned:
                # Poll finely so the end of the run is seen within 0.1 s; report every 5 s.
                next_report = last[0] + 5
                while len(seen) < planned and time.perf_counter() < next_report:
                    time.sleep(0.1)
                now, count = time.perf_counter(), received[0]
                rss = _tree_rss_mb(worker.pid)
                samples.append((now - t0, count, rss))
                self._say(
                    f"  t={now - t0:6.1f}s received={count:7d} "
                    f"rate={(count - last[1]) / (now - last[0]):6.1f}/s "
                    f"worker RSS={rss:.0f} MB load={_loadavg()}"
                )
                last = (now, count)
                if now - t0 > 3600 or worker.poll() is not None:
                    break
            elapsed = time.perf_counter() - t0
            samples.append((elapsed, received[0], _tree_rss_mb(worker.pid)))
            sent = Reminder.objects.for_tenant(tenant).filter(status="sent").count()
            middle = min(samples, key=lambda s: abs(s[1] - planned / 2))
            rss = [s[2] for s in samples]
            self._say(
                f"dispatch: {received[0]} messages in {elapsed:.1f}s = {received[0] / elapsed:.1f} msg/s "
                f"({len(seen)} distinct reminders, {received[0] - len(seen)} duplicates; {sent} rows marked "
                f"sent); worker RSS start/middle/end "
                f"{samples[0][2]:.0f}/{middle[2]:.0f}/{samples[-1][2]:.0f} MB "
                f"(after 0/{middle[1]}/{samples[-1][1]} messages), min/max {min(rss):.0f}/{max(rss):.0f} MB; "
                f"load average at end: {_loadavg()}"
            )
        finally:
            signal.signal(signal.SIGTERM, previous_handler)
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
                worker.wait(30)
            if sink is not None:
                sink.stop()
            if fake_line is not None:
                stop_polling.set()
                os.killpg(fake_line.pid, signal.SIGTERM)
                fake_line.wait(10)

    def _say(self, line: str) -> None:
        """One progress line, flushed at once (stdout to a file is block-buffered)."""
        self.stdout.write(line)
        self.stdout.flush()

    # Tables the dispatch bench fills per message, children first (their rows go set-based).
    _DISPATCH_TABLES = (
        "reminders_reminder",
        "interactions_interaction",
        "channels_linecontact",
        "customers_vehicle",
        "customers_customer",
    )

    def _drop_dispatch_tenant(self, slug: str) -> None:
        """Remove the previous run's dispatch tenant: its bulk rows with one DELETE per table, the rest
        (rules, templates, the tenant and whatever else references it) through the ORM, in one transaction.

        The ORM's cascade alone loads every customer, vehicle and reminder of a 100,000-message run
        into Python first; a DELETE per table does not. A row left in a table not listed here is still
        removed by the ORM cascade, only more slowly.
        """
        tenant_id = Tenant.objects.filter(slug=slug).values_list("pk", flat=True).first()
        if tenant_id is None:
            return
        with transaction.atomic():
            with connection.cursor() as c:
                for table in self._DISPATCH_TABLES:
                    c.execute(f"DELETE FROM {table} WHERE tenant_id = %s", [tenant_id])
            Tenant.objects.filter(pk=tenant_id).delete()


def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (the prefork pool), in MB."""
    out = subprocess.run(
        ["ps", "-o", "rss=", "--ppid", str(pid), "-p", str(pid)],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return sum(int(x) for x in out.split()) / 1024
