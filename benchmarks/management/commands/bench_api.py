"""`manage.py bench_api`: the API's speed figures, written into docs/benchmarks.md ("## API").

1. Import of N customers (default 100,000) from a generated CSV through `run_import`: wall time.
   This also seeds the benchmark tenant (a re-run upserts the same external refs).
2. The customer list, page of 50, filtered (`birthday_month=4`), with a read key: median and p95
   server-side time in-process (full middleware and DRF stack, no network), and queries per call.
3. Throughput under wrk against gunicorn with 2 workers on 127.0.0.1: the API list vs a bare Django
   view returning the same query as JSON (benchmarks/api_bench_urls.py), measured in the same run.

Run it against PostgreSQL, e.g.
`DATABASE_URL=postgres://postgres@127.0.0.1:5432/kizuna_api python manage.py bench_api
--settings=benchmarks.settings`.
"""

from __future__ import annotations

import os
import platform
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from benchmarks.localports import free_port, wait_for_port
from crm.api.keys import api_key_create
from crm.models import Tenant
from crm.tenancy.services import tenant_create
from customers.imports import run_import
from customers.models import Customer

LIST_URL = "/api/v1/customers/?birthday_month=4&page_size=50"
BARE_URL = "/bench/bare-customers/?birthday_month=4"
SECTION = "## API"


def _write_csv(path: Path, n: int) -> None:
    consents = ["opted_in", "unknown", "opted_out", "unknown"]
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(
            "external_ref,family_name,given_name,family_name_kana,given_name_kana,email,phone,birthday,consent,tags\n"
        )
        for i in range(n):
            tags = "VIP" if i % 20 == 0 else ""
            phone = f"090-{i % 10000:04d}-{i % 9000 + 1000}"
            birthday = f"{1950 + i % 50}-{i % 12 + 1:02d}-{i % 28 + 1:02d}"
            out.write(
                f"BENCH-{i:07d},山田,太郎{i},ヤマダ,タロウ,c{i}@example.jp,"
                f"{phone},{birthday},{consents[i % 4]},{tags}\n"
            )


def _wrk(url: str, seconds: int, connections: int, headers: dict[str, str]) -> float:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if match is None or non2xx:
        raise CommandError(f"wrk failed or saw errors:\n{out}")
    return float(match.group(1))


class Command(BaseCommand):
    help = (
        "Benchmark the REST API (import, list latency, throughput vs a bare view); writes docs/benchmarks.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", default="bench-api")
        parser.add_argument("--customers", type=int, default=100_000)
        parser.add_argument("--requests", type=int, default=300, help="in-process list calls for the median")
        parser.add_argument("--seconds", type=int, default=15, help="wrk duration per target")
        parser.add_argument("--connections", type=int, default=8)
        parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md")

    def handle(self, *args, tenant, customers, requests, seconds, connections, no_write, **options):
        if not settings.IS_POSTGRES:
            self.stderr.write(
                "Warning: not PostgreSQL; the figures in docs/benchmarks.md are for PostgreSQL."
            )
        if shutil.which("wrk") is None:
            raise CommandError("wrk is needed (apt-get install -y wrk)")
        shop = Tenant.objects.filter(slug=tenant).first() or tenant_create(
            slug=tenant, name="Benchmark shop (API)", owner_email=f"owner@{tenant}.bench"
        )
        existing = Customer.objects.for_tenant(shop).count()

        # 1. import
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "customers.csv"
            _write_csv(path, customers)
            started = time.perf_counter()
            with path.open("rb") as fileobj:
                report = run_import(tenant=shop, kind="customers", fileobj=fileobj)
            import_seconds = time.perf_counter() - started
        if report.errors:
            raise CommandError(f"import reported errors: {report.errors[:5]}")
        mode = "update (upsert of existing refs)" if existing >= customers else "insert"
        self.stdout.write(f"import: {report.rows_imported:,} customers in {import_seconds:.1f} s ({mode})")
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("ANALYZE customers_customer")

        # 2. in-process latency
        _key, raw = api_key_create(tenant=shop, name="bench", scope="read", created_by=None)
        auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
        client = Client()
        settings.KIZUNA_API_RATE = "100000000/min"
        for _ in range(20):
            client.get(LIST_URL, **auth)
        timings = []
        for _ in range(requests):
            t0 = time.perf_counter()
            response = client.get(LIST_URL, **auth)
            timings.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, response.content[:300]
        rows = len(response.json()["results"])
        with CaptureQueriesContext(connection) as ctx:
            client.get(LIST_URL, **auth)
        median, p95 = statistics.median(timings), statistics.quantiles(timings, n=20)[18]
        self.stdout.write(
            f"list (page of {rows}): median {median:.1f} ms, p95 {p95:.1f} ms, {len(ctx)} queries"
        )

        # 3. throughput under wrk, both targets against the same gunicorn
        port = free_port()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "benchmarks.api_bench_settings",
            "KIZUNA_BENCH_TENANT": shop.slug,
            "KIZUNA_API_RATE": "100000000/min",
            "CONN_MAX_AGE": "60",
            "DEBUG": "false",
            # Production mode refuses the embedded key (API keys are plain hashes, sessions are not used:
            # any key serves); the loopback benchmark speaks plain HTTP.
            "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
            "SECURE_SSL_REDIRECT": "false",
            "LOG_LEVEL": "WARNING",
        }
        gunicorn = Path(sys.executable).with_name("gunicorn")
        server = subprocess.Popen(  # loopback only
            [
                str(gunicorn),
                "crm.wsgi:application",
                "-w",
                "2",
                "-b",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
            ],
            env=env,
            cwd=settings.BASE_DIR,
        )
        try:
            wait_for_port(port, timeout=30)
            base = f"http://127.0.0.1:{port}"
            headers = {"Authorization": f"Bearer {raw}", "Host": "127.0.0.1"}
            _wrk(base + LIST_URL, 3, connections, headers)  # warm-up: connections, caches
            _wrk(base + BARE_URL, 3, connections, headers)
            api_rps = _wrk(base + LIST_URL, seconds, connections, headers)
            bare_rps = _wrk(base + BARE_URL, seconds, connections, headers)
        finally:
            server.terminate()
            server.wait(timeout=30)
        ratio = api_rps / bare_rps
        self.stdout.write(
            f"throughput: API {api_rps:.0f} req/s, bare view {bare_rps:.0f} req/s, ratio {ratio:.2f}"
        )

        if not no_write:
            self._write_doc(
                customers=customers,
                total=Customer.objects.for_tenant(shop).count(),
                import_seconds=import_seconds,
                mode=mode,
                median=median,
                p95=p95,
                queries=len(ctx),
                rows=rows,
                api_rps=api_rps,
                bare_rps=bare_rps,
                seconds=seconds,
                connections=connections,
            )

    def _write_doc(self, **f) -> None:
        load = os.getloadavg()[0]
        db = "PostgreSQL" if settings.IS_POSTGRES else "SQLite"
        today = datetime.now(UTC).date()
        rows = [
            (f"import of {f['customers']:,} customers (CSV → `run_import`, {f['mode']})",
             f"{f['import_seconds']:.1f} s", "< 60 s"),
            (f"customer list, page of {f['rows']} filtered by birthday month, {f['total']:,} customers in "
             "the tenant: median server-side (in-process, full middleware + DRF stack)",
             f"{f['median']:.1f} ms (p95 {f['p95']:.1f} ms, {f['queries']} queries)", "< 50 ms"),
            (f"throughput, gunicorn 2 workers, wrk {f['connections']} conns × {f['seconds']} s: API list",
             f"{f['api_rps']:.0f} req/s", ""),
            ("same run: bare Django view returning the same query as JSON", f"{f['bare_rps']:.0f} req/s", ""),
            ("API ÷ bare view", f"{f['api_rps'] / f['bare_rps']:.2f}", "≥ 0.5"),
        ]  # fmt: skip
        table = "\n".join(f"| {today} | {what} | {figure} | {target} |" for what, figure, target in rows)
        text = (
            f"{SECTION}\n\n"
            "Command: `DATABASE_URL=postgres://…/kizuna_api .venv/bin/python manage.py bench_api "
            "--settings=benchmarks.settings` (benchmarks/management/commands/bench_api.py).\n"
            f"Machine: {os.cpu_count()} cores, {db}, Python {platform.python_version()}; load average "
            f"{load:.1f} when it finished (the machine is shared with other work).\n\n"
            "| date | measure | figure | target |\n|---|---|---|---|\n"
            f"{table}\n\n"
            "The list's query count does not grow with the page size (tests/api/test_writes.py).\n"
        )
        path = Path(settings.BASE_DIR) / "docs" / "benchmarks.md"
        doc = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
        pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
        doc = pattern.sub(text + "\n", doc) if pattern.search(doc) else doc.rstrip() + "\n\n" + text
        path.write_text(doc, encoding="utf-8")
        self.stdout.write(f"wrote {path}")
