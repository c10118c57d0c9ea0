"""`manage.py drill_pg_restart --restart-cmd "…restart -m {mode}"`: restart PostgreSQL under API load.

Run through `benchmarks/pg_restart_drill.sh`, which gives this command a throw-away cluster of its own
(never the shared one). For each restart mode (`fast`: clean shutdown; `immediate`: a crash, with
WAL recovery at start):

1. gunicorn (`--workers`, CONN_MAX_AGE 60, connected as the application role `kizuna_app`, so
   row-level security applies as in production) serves a tenant with a write API key;
2. `--writers` client threads each POST new customers (`external_ref` unique, an `Idempotency-Key`
   per customer) and, like an integration should, retry the same request with the same key after a
   5xx or a connection error until it is acknowledged; one reader thread lists customers;
3. after `--warmup` seconds the cluster is restarted with `--restart-cmd`; load continues for
   `--after` seconds, then the clients finish their pending retries.

Reported: requests and acknowledged writes, failed attempts during the restart (by kind), the
outage as clients saw it (first failure to the last failure, and from the restart command to the
first success after it), and what was lost: every acknowledged customer must be in the database
exactly once. Figures go into docs/reliability.md ("## PostgreSQL restart under API load").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from benchmarks.localports import free_port, wait_for_port
from benchmarks.management.commands.bench_load import _replace_section, _with_user
from crm.api.keys import api_key_create
from crm.tenancy.services import tenant_create
from customers.models import Customer

SECTION = "## PostgreSQL restart under API load"
REQUEST_TIMEOUT = 10  # seconds a client waits for one answer


@dataclass
class Attempt:
    at: float
    ok: bool
    kind: str  # "2xx", "4xx", "5xx", "conn", "timeout"


@dataclass
class Log:
    lock: threading.Lock = field(default_factory=threading.Lock)
    attempts: list[Attempt] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)
    given_up: list[str] = field(default_factory=list)

    def add(self, attempt: Attempt) -> None:
        with self.lock:
            self.attempts.append(attempt)


def _call(url: str, key: str, *, body: dict | None = None, idem: str | None = None) -> tuple[str, bytes]:
    headers = {"Authorization": f"Bearer {key}", "X-Forwarded-Proto": "https", "Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if idem:
        headers["Idempotency-Key"] = idem
    method = "POST" if body else "GET"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310 — loopback
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:  # noqa: S310 — loopback
            return f"{response.status // 100}xx", response.read()
    except urllib.error.HTTPError as exc:
        return f"{exc.code // 100}xx", exc.read()
    except TimeoutError:
        return "timeout", b""
    except (urllib.error.URLError, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return ("timeout" if isinstance(reason, TimeoutError) else "conn"), b""


class Command(BaseCommand):
    help = "Restart PostgreSQL (a throw-away cluster) under API load; report what was lost and recovery."
    requires_system_checks = []  # sets up and verifies as the cluster's superuser on purpose

    def add_arguments(self, parser):
        parser.add_argument("--restart-cmd", required=True, help="shell command; {mode} = fast|immediate")
        parser.add_argument("--modes", default="fast,immediate")
        parser.add_argument("--writers", type=int, default=4)
        parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
        parser.add_argument("--warmup", type=float, default=10)
        parser.add_argument("--after", type=float, default=20, help="seconds of load after the restart")
        parser.add_argument("--app-role", default="kizuna_app")
        parser.add_argument("--app-password", default=os.environ.get("KIZUNA_APP_DB_PASSWORD"))
        parser.add_argument("--no-write", action="store_true")

    def handle(self, *args, **opts):
        if not settings.IS_POSTGRES:
            raise CommandError("drill_pg_restart needs PostgreSQL.")
        db = settings.DATABASES["default"]
        own_url = (
            f"postgres://{db['USER']}{':' + db['PASSWORD'] if db.get('PASSWORD') else ''}"
            f"@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"
        )
        app_url = _with_user(own_url, opts["app_role"], opts["app_password"])
        results = []
        for mode in [m for m in opts["modes"].split(",") if m]:
            results.append(self._drill(mode, app_url, opts))
        if not opts["no_write"]:
            self._write_doc(results, opts)

    def _drill(self, mode: str, app_url: str, opts) -> dict:
        slug = f"drill-{mode}-{int(time.time())}"
        shop = tenant_create(slug=slug, name=f"Drill {mode}", owner_email=f"owner@{slug}.drill")
        _key, raw = api_key_create(tenant=shop, name="drill", scope="write", created_by=None)
        connection.close()  # this process holds no connection across the restart

        port = free_port()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
            "DATABASE_URL": app_url,
            "DATABASE_OWNER_URL": "",
            "KIZUNA_ALLOW_RLS_BYPASS": "false",
            "SECRET_KEY": os.environ.get("SECRET_KEY") or "drill-" + "x" * 60,
            "DEBUG": "false",
            "CONN_MAX_AGE": "60",
            "KIZUNA_API_RATE": "100000000/min",
            "SECURE_SSL_REDIRECT": "false",
            "LOG_LEVEL": "CRITICAL",
        }
        gunicorn = Path(sys.executable).with_name("gunicorn")
        server = subprocess.Popen(  # loopback only
            [str(gunicorn), "crm.wsgi:application", "-w", str(opts["workers"]), "-b", f"127.0.0.1:{port}",
             "--log-level", "critical", "--timeout", "60"],
            env=env,
            cwd=settings.BASE_DIR,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}/api/v1/customers/"
        log = Log()
        stop = threading.Event()
        try:
            wait_for_port(port)
            deadline = time.monotonic() + 120
            while _call(base + "?page_size=1", raw)[0] != "2xx":
                if time.monotonic() > deadline:
                    raise CommandError("the API never answered")
                time.sleep(0.5)

            def writer(n: int) -> None:
                i = 0
                while not stop.is_set():
                    ref = f"W{n}-{i:06d}"
                    body = {"external_ref": ref, "family_name": "再起動", "given_name": f"{n}-{i}"}
                    for _try in range(200):  # retry the same request until acknowledged
                        kind, _content = _call(base, raw, body=body, idem=f"{slug}-{ref}")
                        log.add(Attempt(time.monotonic(), kind == "2xx", kind))
                        if kind == "2xx":
                            with log.lock:
                                log.acknowledged.append(ref)
                            break
                        if kind == "4xx":
                            with log.lock:
                                log.given_up.append(f"{ref}: {kind} {_content[:200]!r}")
                            break
                        time.sleep(0.2)
                    i += 1

            def reader() -> None:
                while not stop.is_set():
                    kind, _content = _call(base + "?page_size=50", raw)
                    log.add(Attempt(time.monotonic(), kind == "2xx", kind))
                    if kind != "2xx":
                        time.sleep(0.2)

            threads = [threading.Thread(target=writer, args=(n,)) for n in range(opts["writers"])]
            threads.append(threading.Thread(target=reader))
            for t in threads:
                t.start()
            time.sleep(opts["warmup"])
            load = os.getloadavg()[0]
            restart_at = time.monotonic()
            command = opts["restart_cmd"].format(mode=mode)  # the operator's own command line
            done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=300)  # noqa: S602
            restart_done = time.monotonic()
            if done.returncode != 0:
                raise CommandError(f"restart command failed: {done.stdout}{done.stderr}")
            time.sleep(opts["after"])
            stop.set()
            for t in threads:
                t.join(timeout=REQUEST_TIMEOUT * 200)
        finally:
            stop.set()
            server.terminate()
            server.wait(timeout=30)

        # What the database holds, as the superuser (sees every row).
        refs = list(Customer.objects.unscoped().filter(tenant=shop).values_list("external_ref", flat=True))
        stored = Counter(refs)
        acked = set(log.acknowledged)
        lost = sorted(acked - set(stored))
        duplicated = sorted(r for r, n in stored.items() if n > 1)
        unacknowledged_stored = sorted(set(stored) - acked)
        failures = [a for a in log.attempts if not a.ok]
        during = [a for a in failures if a.at >= restart_at]
        first_ok_after = min((a.at for a in log.attempts if a.ok and a.at > restart_done), default=None)
        result = {
            "mode": mode,
            "load": load,
            "requests": len(log.attempts),
            "acknowledged": len(acked),
            "stored": sum(stored.values()),
            "lost": lost,
            "duplicated": duplicated,
            "stored_unacknowledged": unacknowledged_stored,
            "given_up": log.given_up,
            "failures": Counter(a.kind for a in failures),
            "failures_before_restart": len(failures) - len(during),
            "restart_cmd_s": restart_done - restart_at,
            "outage_s": (max(a.at for a in during) - min(a.at for a in during)) if during else 0.0,
            "to_first_success_s": (first_ok_after - restart_at) if first_ok_after else None,
            "last_failure_after_restart_s": (max(a.at for a in during) - restart_at) if during else 0.0,
        }
        self.stdout.write(
            f"{mode}: {result['requests']} requests, {result['acknowledged']} writes acknowledged, "
            f"{result['stored']} stored; lost {len(lost)}, duplicated {len(duplicated)}, "
            f"stored but never acknowledged {len(unacknowledged_stored)}, given up {len(log.given_up)}; "
            f"failed attempts {dict(result['failures'])} ({result['failures_before_restart']} before the "
            f"restart); restart command {result['restart_cmd_s']:.1f} s; first success "
            f"{result['to_first_success_s'] or float('nan'):.1f} s after the restart began; last failure "
            f"{result['last_failure_after_restart_s']:.1f} s after it (load {load:.1f})"
        )
        return result

    def _write_doc(self, results: list[dict], opts) -> None:
        today = datetime.now(UTC).date()
        rows = []
        for r in results:
            failures = ", ".join(f"{n} {k}" for k, n in sorted(r["failures"].items())) or "none"
            rows.append(
                f"| `{r['mode']}` | {r['requests']:,} | {r['acknowledged']:,} | **{len(r['lost'])}** | "
                f"{len(r['duplicated'])} | {len(r['stored_unacknowledged'])} | {failures} | "
                f"{r['restart_cmd_s']:.1f} s | {r['to_first_success_s'] or float('nan'):.1f} s | "
                f"{r['last_failure_after_restart_s']:.1f} s | {r['load']:.1f} |"
            )
        text = (
            f"{SECTION}\n\n"
            "Command: `benchmarks/pg_restart_drill.sh` (a throw-away PostgreSQL cluster on port 5440, "
            "never the shared server; benchmarks/management/commands/drill_pg_restart.py).\n\n"
            f"Run of {today}: gunicorn {opts['workers']} sync workers as `kizuna_app` (row-level security "
            "on), "
            f"CONN_MAX_AGE 60; {opts['writers']} client threads POST new customers, each retrying the same "
            "request with the same `Idempotency-Key` after a 5xx or a connection error until it is "
            "acknowledged, and one thread lists customers; the cluster is restarted after "
            f"{opts['warmup']:.0f} s of load (`pg_ctl restart -m fast`: clean shutdown; `-m immediate`: "
            f"a crash, WAL recovery at start), and load goes on for {opts['after']:.0f} s. Lost = "
            "acknowledged (2xx) customers missing from the database afterwards (target: 0).\n\n"
            "| restart | requests | writes acknowledged | lost | stored twice | stored, never acknowledged "
            "| failed attempts | restart command took | first success after restart began "
            "| last failure after restart began | load avg |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n"
        )
        path = Path(settings.BASE_DIR) / "docs" / "reliability.md"
        _replace_section(path, SECTION, text)
        self.stdout.write(f"wrote {path}")
