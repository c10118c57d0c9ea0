"""`manage.py bench_load`: wrk against gunicorn on PostgreSQL with 1,000 tenants, row-level security on
versus off. Figures go into docs/reliability.md ("## Load"); `benchmarks/load.sh` runs it end to end.

1. Seeds `--tenants` benchmark tenants (`bench-0001`…, seed_demo's COPY generator, `--customers` per
   tenant) unless they already have customers; each owner gets a fresh read API key and a session.
2. Starts two gunicorns (`--workers` each) on loopback: one connected as the application role
   (`kizuna_app`: no superuser, no BYPASSRLS, so the tenant policies apply — "RLS on"), one connected
   as this command's own role, which must be a superuser (superusers bypass row-level security even
   where it is forced — "RLS off"). Same code, same database, same data: only the policies differ.
3. For each target (API list and detail, Today, customers list, Customer 360) runs wrk with
   benchmarks/load.lua — a random tenant's key or session cookie per request — alternating
   off/on/off/on… (`--rounds`), and reports p50/p95/p99 and errors (any status other than 200,
   and socket errors) per mode, with the load average before each run.

Run it as a superuser on a database of its own, under the shared benchmark lock:
`DATABASE_URL=postgres://postgres@127.0.0.1:5432/kizuna_load flock /tmp/kizuna-bench.lock
python manage.py bench_load --settings=benchmarks.settings`.
"""

from __future__ import annotations

import os
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from unittest import mock

import environ
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test.utils import override_settings
from django.utils import timezone

from benchmarks.localports import free_port, wait_for_port
from crm.api.keys import api_key_create
from crm.models import ApiKey, Membership, Tenant
from crm.tenancy.middleware import SESSION_KEY as TENANT_SESSION_KEY
from crm.tenancy.roles import Role
from customers.models import Customer
from workspace.demo import demo_tenant_with_staff, seed_tenant
from workspace.demo import seed as demo_seed

TARGETS = {
    "api_list": "API: customer list, page of 50",
    "api_detail": "API: customer detail",
    "today": "Dashboard: Today",
    "customers": "Dashboard: customers list",
    "customer360": "Dashboard: Customer 360",
}
KEY_NAME = "bench-load"
SEED_BATCH = 50  # tenants per transaction while seeding
IDS_PER_TENANT = 20  # customers per tenant that the detail pages pick from
SECTION = "## Load"
LUA = Path(__file__).resolve().parents[2] / "load.lua"
# Benchmark owners never log in with a password: a cheap hasher keeps seeding 1,000 of them fast.
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class Run:
    target: str
    mode: str
    requests: int
    seconds: float
    p50: float
    p95: float
    p99: float
    max: float
    errors: int
    load: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


@dataclass
class Summary:
    runs: list[Run] = field(default_factory=list)

    def of(self, target: str, mode: str) -> list[Run]:
        return [r for r in self.runs if r.target == target and r.mode == mode]


def _wait_ready(port: int, creds: Path, timeout: float = 180) -> None:
    """Until one worker answers an API call with 200 (the port opens long before workers have booted)."""
    raw = creds.read_text(encoding="utf-8").split("\t", 1)[0]
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/customers/?page_size=1",
        headers={"Authorization": f"Bearer {raw}", "X-Forwarded-Proto": "https"},
    )
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 — loopback
                if response.status == 200:
                    return
        except (OSError, urllib.error.HTTPError) as exc:
            last = str(exc)
        time.sleep(0.5)
    raise CommandError(f"gunicorn on port {port} never answered 200: {last}")


def _role_bypasses_rls(url: str) -> bool:
    """Whether the role of `url` is a superuser or has BYPASSRLS (asked through psql, so the check uses
    exactly the credentials gunicorn will use)."""
    out = subprocess.run(
        ["psql", url, "-Atc", "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.strip()
    return out == "t"


def _with_user(url: str, user: str, password: str | None) -> str:
    cfg = environ.Env.db_url_config(url)
    auth = user + (f":{password}" if password else "")
    port = f":{cfg['PORT']}" if cfg.get("PORT") else ""
    return f"postgres://{auth}@{cfg.get('HOST') or '127.0.0.1'}{port}/{cfg['NAME']}"


class Command(BaseCommand):
    help = "Load test (wrk + gunicorn, 1,000 tenants) with row-level security on vs off; docs/reliability.md."

    def add_arguments(self, parser):
        parser.add_argument("--tenants", type=int, default=1000)
        parser.add_argument("--customers", type=int, default=100, help="customers per tenant")
        parser.add_argument("--seconds", type=int, default=15, help="wrk duration per run")
        parser.add_argument("--connections", type=int, default=8)
        parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server")
        parser.add_argument("--rounds", type=int, default=2, help="off/on pairs per target")
        parser.add_argument("--targets", default=",".join(TARGETS), help="comma-separated subset")
        parser.add_argument("--app-role", default="kizuna_app", help="role the RLS-on server connects as")
        parser.add_argument("--app-password", default=os.environ.get("KIZUNA_APP_DB_PASSWORD"))
        parser.add_argument(
            "--modes", default="off,on", help="'off,on' (default) or 'off' alone before RLS exists"
        )
        parser.add_argument("--no-write", action="store_true", help="print only; leave docs/reliability.md")
        parser.add_argument("--seed-only", action="store_true", help="seed the tenants, measure nothing")

    def handle(self, *args, **opts):
        if not settings.IS_POSTGRES:
            raise CommandError("bench_load needs PostgreSQL (DATABASE_URL=postgres://…).")
        if shutil.which("wrk") is None:
            raise CommandError("wrk is needed (apt-get install -y wrk)")
        targets = [t for t in opts["targets"].split(",") if t]
        unknown = set(targets) - set(TARGETS)
        if unknown:
            raise CommandError(f"unknown targets: {', '.join(sorted(unknown))}")
        modes = [m for m in opts["modes"].split(",") if m]
        db = settings.DATABASES["default"]
        own_url = (
            f"postgres://{db['USER']}{':' + db['PASSWORD'] if db.get('PASSWORD') else ''}"
            f"@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"
        )
        if not _role_bypasses_rls(own_url):
            raise CommandError(
                "Run bench_load as a superuser (it seeds across tenants and serves the 'RLS off' side)."
            )
        urls = {"off": own_url}
        if "on" in modes:
            if "create_db_roles" not in get_commands():
                raise CommandError("No row-level security in this code base yet: use --modes off.")
            call_command("create_db_roles", app_role=opts["app_role"], app_password=opts["app_password"])
            urls["on"] = _with_user(own_url, opts["app_role"], opts["app_password"])
            if _role_bypasses_rls(urls["on"]):
                raise CommandError(f"{opts['app_role']} bypasses row-level security; RLS would not be on.")

        self._seed(opts["tenants"], opts["customers"])
        if opts["seed_only"]:
            return
        secret_key = secrets.token_urlsafe(50)
        with tempfile.TemporaryDirectory() as tmp:
            creds = Path(tmp) / "tenants.tsv"
            n = self._credentials(creds, opts["tenants"], secret_key)
            self.stdout.write(f"{n} tenants with a key and a session; targets: {', '.join(targets)}")
            summary = self._run(creds, targets, modes, urls, secret_key, opts)
        self._report(summary, targets, modes, opts)

    # --- 1. data --------------------------------------------------------------------------------
    def _seed(self, tenants: int, per_tenant: int) -> None:
        """The `bench-NNNN` tenants that are missing, through seed_demo's own tenant set-up and COPY
        generator (same rows as `seed_demo --tenants`), tuned for 1,000 small tenants: a batch of
        tenants per transaction without waiting for the WAL flush, and one ANALYZE at the end instead
        of one per tenant (the per-tenant ANALYZE was most of the time)."""
        started = time.perf_counter()
        today = timezone.localdate()
        have = set(
            Customer.objects.unscoped()
            .filter(tenant__slug__startswith="bench-")
            .values_list("tenant__slug", flat=True)
            .distinct()
        )
        missing = [i for i in range(1, tenants + 1) if f"bench-{i:04d}" not in have]
        with override_settings(PASSWORD_HASHERS=FAST_HASHERS), mock.patch.object(demo_seed, "analyze_tables"):
            for start in range(0, len(missing), SEED_BATCH):
                with transaction.atomic():
                    with connection.cursor() as cursor:
                        cursor.execute("SET LOCAL synchronous_commit = off")  # a throw-away bench database
                    for i in missing[start : start + SEED_BATCH]:
                        spec = {
                            "name": f"Bench {i:04d}",
                            "kind": "dealer" if i % 2 else "garage",
                            "domain": f"bench-{i:04d}.demo",
                        }
                        tenant, staff_ids = demo_tenant_with_staff(f"bench-{i:04d}", spec, with_team=False)
                        seed_tenant(
                            tenant=tenant,
                            kind=spec["kind"],
                            customers=per_tenant,
                            years=5,
                            seed=1,
                            today=today,
                            staff_ids=staff_ids,
                            stream=i,
                        )
                self.stdout.write(f"  seeded {min(start + SEED_BATCH, len(missing))}/{len(missing)} tenants")
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        total = Customer.objects.unscoped().filter(tenant__slug__startswith="bench-").count()
        self.stdout.write(
            f"data: {tenants} tenants, {total:,} customers in bench tenants "
            f"(seeded {len(missing)} in {time.perf_counter() - started:.0f} s)"
        )

    def _credentials(self, path: Path, tenants: int, secret_key: str) -> int:
        """One line per tenant: a new read key, a new owner session, some customer ids."""
        slugs = [f"bench-{i:04d}" for i in range(1, tenants + 1)]
        shops = list(Tenant.objects.filter(slug__in=slugs).order_by("slug"))
        if len(shops) != tenants:
            raise CommandError(f"expected {tenants} bench tenants, found {len(shops)}")
        # Keys from earlier runs are dead weight in the key lookup: remove them (cross-tenant by design).
        ApiKey.objects.unscoped().filter(name=KEY_NAME, tenant__in=shops).delete()
        owners = {
            m.tenant_id: m.user
            for m in Membership.objects.unscoped()
            .filter(tenant__in=shops, role=Role.OWNER)
            .select_related("user")
        }
        ids: dict[int, list[int]] = {}
        for tenant_id, pk in (
            Customer.objects.unscoped().filter(tenant__in=shops).values_list("tenant_id", "pk").iterator()
        ):
            ids.setdefault(tenant_id, []).append(pk)
        rng = random.Random(7)
        # A session names the backend that loads its user; a lockout backend (axes) cannot.
        backends = settings.AUTHENTICATION_BACKENDS
        backend = next((b for b in backends if "axes" not in b.lower()), backends[0])
        lines = []
        with override_settings(SECRET_KEY=secret_key):  # the servers sign sessions with this key
            for shop in shops:
                user = owners[shop.pk]
                _key, raw = api_key_create(tenant=shop, name=KEY_NAME, scope="read", created_by=None)
                session = SessionStore()
                session[SESSION_KEY] = str(user.pk)
                session[BACKEND_SESSION_KEY] = backend
                session[HASH_SESSION_KEY] = user.get_session_auth_hash()
                session[TENANT_SESSION_KEY] = shop.pk
                session.create()
                sample = rng.sample(ids[shop.pk], min(IDS_PER_TENANT, len(ids[shop.pk])))
                lines.append(f"{raw}\t{session.session_key}\t{','.join(map(str, sample))}")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return len(lines)

    # --- 2./3. servers and wrk ------------------------------------------------------------------
    def _server(self, url: str, secret_key: str, workers: int) -> tuple[subprocess.Popen, int]:
        port = free_port()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
            "DATABASE_URL": url,
            "DATABASE_OWNER_URL": "",
            "SECRET_KEY": secret_key,
            "DEBUG": "false",
            "CONN_MAX_AGE": "60",
            "KIZUNA_API_RATE": "100000000/min",
            "SECURE_SSL_REDIRECT": "false",
            "LOG_LEVEL": "WARNING",
        }
        gunicorn = Path(sys.executable).with_name("gunicorn")
        server = subprocess.Popen(  # loopback only
            [str(gunicorn), "crm.wsgi:application", "-w", str(workers), "-b", f"127.0.0.1:{port}",
             "--log-level", "warning", "--timeout", "60"],
            env=env,
            cwd=settings.BASE_DIR,
        )  # fmt: skip
        return server, port

    def _wrk(self, port: int, target: str, creds: Path, seconds: int, connections: int) -> dict[str, int]:
        cmd = [
            "wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", "-s", str(LUA),
            f"http://127.0.0.1:{port}", "--", target, str(creds), settings.SESSION_COOKIE_NAME,
        ]  # fmt: skip
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
        match = re.search(r"^RESULT (.*)$", out.stdout, re.M)
        if match is None:
            raise CommandError(f"wrk failed:\n{out.stdout}\n{out.stderr}")
        return {k: int(v) for k, v in (item.split("=") for item in match.group(1).split())}

    def _run(self, creds: Path, targets, modes, urls, secret_key, opts) -> Summary:
        servers = {}
        try:
            for mode in modes:
                servers[mode] = self._server(urls[mode], secret_key, opts["workers"])
            for _server, port in servers.values():
                wait_for_port(port, timeout=60)
                _wait_ready(port, creds)
            # Warm-up: imports, connections, caches, PostgreSQL buffers, on every target and server.
            for target in targets:
                for mode in modes:
                    self._wrk(servers[mode][1], target, creds, 5, opts["connections"])
            summary = Summary()
            for target in targets:
                for _round in range(opts["rounds"]):
                    for mode in modes:
                        load = os.getloadavg()[0]
                        r = self._wrk(servers[mode][1], target, creds, opts["seconds"], opts["connections"])
                        run = Run(
                            target=target,
                            mode=mode,
                            requests=r["requests"],
                            seconds=r["duration_us"] / 1e6,
                            p50=r["p50_us"] / 1000,
                            p95=r["p95_us"] / 1000,
                            p99=r["p99_us"] / 1000,
                            max=r["max_us"] / 1000,
                            errors=r["status_errors"] + r["socket_errors"],
                            load=load,
                        )
                        summary.runs.append(run)
                        self.stdout.write(
                            f"{target:12} RLS {mode:3}: {run.rps:6.1f} req/s  p50 {run.p50:7.1f}  "
                            f"p95 {run.p95:7.1f}  p99 {run.p99:7.1f} ms  errors {run.errors}/{run.requests}"
                            f"  (load {load:.1f})"
                        )
            return summary
        finally:
            for server, _port in servers.values():
                server.terminate()
            for server, _port in servers.values():
                server.wait(timeout=30)

    # --- report ---------------------------------------------------------------------------------
    def _report(self, summary: Summary, targets, modes, opts) -> None:
        rows = []
        for target in targets:
            row = {"target": target}
            for mode in modes:
                runs = summary.of(target, mode)
                row[mode] = {
                    "p50": statistics.median(r.p50 for r in runs),
                    "p95": statistics.median(r.p95 for r in runs),
                    "p99": statistics.median(r.p99 for r in runs),
                    "rps": statistics.median(r.rps for r in runs),
                    "errors": sum(r.errors for r in runs),
                    "requests": sum(r.requests for r in runs),
                }
            rows.append(row)
        self.stdout.write("\nmedians over the rounds (ms):")
        for row in rows:
            parts = [f"{row['target']:12}"]
            for mode in modes:
                m = row[mode]
                parts.append(
                    f"off p50/p95/p99 {m['p50']:.1f}/{m['p95']:.1f}/{m['p99']:.1f}"
                    if mode == "off"
                    else f"on {m['p50']:.1f}/{m['p95']:.1f}/{m['p99']:.1f}"
                )
            if "on" in modes and "off" in modes:
                parts.append(f"p50 {_pct(row['on']['p50'], row['off']['p50'])}")
            self.stdout.write("  ".join(parts))
        if not opts["no_write"]:
            self._write_doc(rows, summary, modes, opts)

    def _write_doc(self, rows, summary: Summary, modes, opts) -> None:
        loads = [r.load for r in summary.runs]
        today = datetime.now(UTC).date()
        both = "on" in modes and "off" in modes
        head = "| measure | RLS | p50 ms | p95 ms | p99 ms | req/s | errors |"
        lines = [head, "|---|---|---|---|---|---|---|"]
        for row in rows:
            for mode in modes:
                m = row[mode]
                lines.append(
                    f"| {TARGETS[row['target']]} | {mode} | {m['p50']:.1f} | {m['p95']:.1f} | {m['p99']:.1f}"
                    f" | {m['rps']:.0f} | {m['errors']} of {m['requests']:,} |"
                )
        diff = ""
        if both:
            diff_lines = [
                "| measure | p50 on vs off | p95 on vs off | p99 on vs off | target |",
                "|---|---|---|---|---|",
            ]
            for row in rows:
                on, off = row["on"], row["off"]
                diff_lines.append(
                    f"| {TARGETS[row['target']]} | {_pct(on['p50'], off['p50'])} "
                    f"| {_pct(on['p95'], off['p95'])} | {_pct(on['p99'], off['p99'])} | < +10 % |"
                )
            diff = "\n".join(diff_lines) + "\n\n"
        per_run = "\n".join(
            f"| {r.target} | {r.mode} | {r.p50:.1f} | {r.p95:.1f} | {r.p99:.1f} | {r.rps:.0f} "
            f"| {r.errors} | {r.load:.1f} |"
            for r in summary.runs
        )
        text = (
            f"{SECTION}\n\n"
            "Command: `benchmarks/load.sh` (creates `kizuna_load`, migrates, then "
            "`flock /tmp/kizuna-bench.lock .venv/bin/python manage.py bench_load "
            "--settings=benchmarks.settings`; "
            "benchmarks/management/commands/bench_load.py, benchmarks/load.lua).\n\n"
            f"Run of {today}: {opts['tenants']:,} tenants × {opts['customers']} customers "
            "(seed_demo's generator), "
            f"gunicorn {opts['workers']} sync workers per server, CONN_MAX_AGE 60, wrk 2 threads × "
            f"{opts['connections']} connections × {opts['seconds']} s per run, every request a random "
            "tenant's "
            "API key or owner session (and a random customer of that tenant for detail pages). "
            "'RLS on': the server connects as `kizuna_app` (no superuser, no BYPASSRLS: the forced tenant "
            "policies apply); 'RLS off': the same code against the same database connected as a superuser, "
            "which PostgreSQL exempts from the policies. Runs alternate off/on per target "
            f"({opts['rounds']} rounds); figures are medians over the rounds. Errors: any status other than "
            "200, plus socket errors. "
            f"Machine: {os.cpu_count()} cores; wrk, both servers and PostgreSQL run on it together; load "
            f"average {min(loads):.1f}–{max(loads):.1f} during the runs.\n\n"
            + "\n".join(lines)
            + "\n\n"
            + diff
            + "<details><summary>Every run, in order</summary>\n\n"
            "| target | RLS | p50 ms | p95 ms | p99 ms | req/s | errors | load avg |\n"
            "|---|---|---|---|---|---|---|---|\n"
            f"{per_run}\n\n</details>\n"
        )
        path = Path(settings.BASE_DIR) / "docs" / "reliability.md"
        _replace_section(path, SECTION, text)
        self.stdout.write(f"wrote {path}")


def _pct(new: float, old: float) -> str:
    return f"{(new / old - 1) * 100:+.1f} %" if old else "n/a"


def _replace_section(path: Path, section: str, text: str) -> None:
    """Put `text` in place of `section` (up to the next '## ' heading) in a shared document."""
    doc = path.read_text(encoding="utf-8") if path.exists() else "# Reliability\n"
    pattern = re.compile(rf"^{re.escape(section)}\n.*?(?=^## |\Z)", re.S | re.M)
    doc = pattern.sub(lambda _m: text + "\n", doc) if pattern.search(doc) else doc.rstrip() + "\n\n" + text
    path.write_text(doc, encoding="utf-8")
