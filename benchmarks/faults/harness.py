"""The parts of the reminder fault drills, driving the system from the outside.

Everything a drill touches is a real process or a public entry point: a Redis server of its own
(never the machine's shared one), `celery -A crm worker` and `celery -A crm beat` subprocesses, an
aiosmtpd sink in this process that records each accepted message's Message-ID, the
`plan_reminders` command, and the Reminder rows read with plain SQL. Nothing here imports the
dispatcher or the sender, so the drills keep working while their internals change.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import time as clock
from datetime import timedelta
from email.parser import BytesHeaderParser
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

BASE_DIR = Path(settings.BASE_DIR)
SLUG_PREFIX = "fault-drill-"
TERMINAL = ("sent", "failed", "call_task", "skipped")
IN_FLIGHT = ("pending", "queued", "sending")
MESSAGE_ID = re.compile(r"<reminder\.(\d+)\.(\d+)@")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate: Callable[[], bool], *, timeout: float, poll: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll)
    return predicate()


# --- the SMTP sink --------------------------------------------------------------------------------
class _Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.arrivals: list[tuple[float, int, int]] = []  # (monotonic time, tenant id, reminder id)
        self.unparsed = 0

    async def handle_DATA(self, server, session, envelope):
        headers = BytesHeaderParser().parsebytes(envelope.original_content or envelope.content)
        match = MESSAGE_ID.match(str(headers.get("Message-ID", "")).strip())
        with self.lock:
            if match:
                self.arrivals.append((time.monotonic(), int(match[1]), int(match[2])))
            else:
                self.unparsed += 1
        return "250 OK"


class MessageSink:
    """An SMTP server that accepts everything and remembers (when, which reminder) it accepted.

    `stop()` closes the listening socket and every open session: to a sender the server is down
    (connection refused) until `start()` again on the same port.
    """

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.recorder = _Recorder()
        self._controller = None

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        logging.getLogger("mail.log").setLevel(logging.WARNING)  # one line per SMTP command otherwise
        self._controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def arrivals(self, tenant_id: int) -> list[tuple[float, int]]:
        with self.recorder.lock:
            return [(t, rid) for t, tid, rid in self.recorder.arrivals if tid == tenant_id]

    def counts(self, tenant_id: int) -> Counter:
        return Counter(rid for _t, rid in self.arrivals(tenant_id))


class LineSink:
    """The fake LINE Messaging API (tests/fakes/line_api.py, real HTTP) as a drill's message sink.

    What counts as "received" is what a customer would see: pushes LINE accepted, one per retry key
    (a retried push with an accepted key is answered 409 and shows nothing). The retry key is
    uuid5(tenant, reminder) (channels.delivery.idempotency_key), so it names the reminder.
    """

    TOKEN = "fault-drill-line-token"

    def __init__(self, port: int | None = None):
        from tests.fakes.line_api import FakeLineAPI

        self.fake = FakeLineAPI(tokens={self.TOKEN}, port=port or free_port())
        self.port = self.fake.port
        self.keys: dict[str, tuple[int, int]] = {}
        self.started_once = False

    def start(self) -> None:
        self.fake.start()

    def stop(self) -> None:
        self.fake.stop()

    @property
    def url(self) -> str:
        return self.fake.url

    def learn(self, tenant_id: int) -> None:
        """Map the retry keys of the tenant's reminders back to their ids (after planning)."""
        from channels.delivery import idempotency_key

        for (rid,) in _rows("SELECT id FROM reminders_reminder WHERE tenant_id = %s", [tenant_id]):
            self.keys[idempotency_key("reminder", tenant_id, rid)] = (tenant_id, rid)

    def arrivals(self, tenant_id: int) -> list[tuple[float, int]]:
        with self.fake.lock:
            delivered = list(zip(self.fake.delivered_at, self.fake.delivered, strict=True))
        out = []
        for t, d in delivered:
            tid, rid = self.keys.get(d["retry_key"], (None, None))
            if tid == tenant_id:
                out.append((t, rid))
        return out

    def counts(self, tenant_id: int) -> Counter:
        return Counter(rid for _t, rid in self.arrivals(tenant_id))

    def deduplicated(self) -> int:
        """Pushes repeated with an already accepted key (answered 409: the duplicate window, caught)."""
        return self.fake.status_counts[409]


def add_line_contacts(tenant, *, encryption_key: str) -> None:
    """Every customer of the shop follows its LINE account; the shop sends LINE first.

    The credentials are encrypted with `encryption_key`, which the workers get as
    CHANNELS_ENCRYPTION_KEY (process_env): this process and the workers need not share a SECRET_KEY
    (without SECRET_KEY in the environment they did not, and every push failed "cannot be decrypted").
    """
    from django.test.utils import override_settings

    from channels.models import LineContact
    from channels.services import channel_settings_update
    from customers.models import Customer
    from tests.fakes.line_api import line_user_id

    with override_settings(CHANNELS_ENCRYPTION_KEY=encryption_key):
        channel_settings_update(
            tenant=tenant,
            channel_order="line,email",
            line_channel_id="1650000000",
            line_channel_secret="fault-drill-secret",
            line_access_token=LineSink.TOKEN,
        )
    ids = list(Customer.objects.for_tenant(tenant).values_list("id", flat=True))
    now = timezone.now()
    LineContact.objects.for_tenant(tenant).bulk_create(
        [
            LineContact(
                tenant=tenant, customer_id=cid, line_user_id=line_user_id(f"drill-{cid}"), followed_at=now
            )
            for cid in ids
        ],
        batch_size=1000,
    )


# --- Redis ----------------------------------------------------------------------------------------
class RedisServer:
    """A private redis-server for one drill (the machine's Redis on 6379 is shared: never touched).

    `appendonly=True` is the production shape (docker-compose.yml: `--appendonly yes`, fsync every
    second). The data directory survives `kill()`, so a restart reloads what the AOF kept.
    """

    def __init__(self, workdir: Path, *, port: int | None = None, appendonly: bool = True):
        if shutil.which("redis-server") is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.port = port or free_port()
        self.dir = workdir.resolve() / f"redis-{self.port}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.appendonly = appendonly
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 15) -> None:
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--appendonly", "yes" if self.appendonly else "no", "--dir", str(self.dir)]
        args += ["--logfile", str(self.dir / "redis.log")]
        self.proc = subprocess.Popen(args, start_new_session=True, stdout=subprocess.DEVNULL)
        if not wait_until(self.ping, timeout=timeout, poll=0.05):
            raise RuntimeError(f"redis-server on port {self.port} did not start")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL: a crash. With the AOF, writes of the last second may be lost; without, everything."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def shutdown(self) -> None:
        """A clean stop (SHUTDOWN): the AOF is flushed first."""
        if self.proc and self.proc.poll() is None:
            subprocess.run(
                ["redis-cli", "-p", str(self.port), "shutdown"], check=False, capture_output=True, timeout=30
            )
            self.proc.wait(30)

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


# --- Celery processes -----------------------------------------------------------------------------
@dataclass
class Timing:
    """The timeouts a drill runs with, handed to the worker and beat processes as environment.

    Production values are in brackets; the drill shortens the ones recovery waits for, so a drill
    takes minutes. Recovery from a lost task or a dead worker takes at least `visibility_timeout`
    (broker redelivery) or `sending_lease` + one sweep (sweeper) — in production those are an hour
    and 15–20 minutes.
    """

    beat_minute: float = 5.0  # real seconds per beat "minute": dispatch every minute, sweep every 5 [60]
    sweep_every_minutes: int = 2  # [5]
    plan_every_minutes: int = 0  # 0: no planning by beat [daily at 05:00]
    sending_lease: int = 60  # [900]
    queued_lease: int = 900  # [3900]
    visibility_timeout: int = 60  # [3600]
    retry_base: int = 1  # [60]
    retry_cap: int = 30  # [1800]
    max_attempts: int = 8  # [8]
    batch_size: int = 100  # ids per send task [100]

    @classmethod
    def production_retries(cls, **overrides) -> Timing:
        """Production backoff (60 s doubling to 1 800 s, 8 attempts) and broker redelivery (1 h)."""
        values = dict(
            retry_base=60, retry_cap=1800, visibility_timeout=3600, sending_lease=900, queued_lease=3900
        )
        return cls(**{**values, **overrides})


def _database_url() -> str:
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def process_env(
    *, broker_url: str, smtp_port: int, timing: Timing, line_url: str = "", encryption_key: str = ""
) -> dict[str, str]:
    env = dict(os.environ)
    if line_url:
        env.update(LINE_BACKEND="http", LINE_API_BASE_URL=line_url, LINE_TIMEOUT="5")
    if encryption_key:
        env["CHANNELS_ENCRYPTION_KEY"] = encryption_key
    env.update(
        DJANGO_SETTINGS_MODULE="benchmarks.faults.drill_settings",
        DATABASE_URL=_database_url(),
        CELERY_BROKER_URL=broker_url,
        CELERY_TASK_ALWAYS_EAGER="false",
        EMAIL_URL=f"smtp://127.0.0.1:{smtp_port}",
        EMAIL_TIMEOUT="5",
        CONN_MAX_AGE="600",
        DEBUG="false",
        SITE_URL="https://kizuna.example",
        # Celery runs Django's system checks at every worker start; the SIGKILL drill starts a hundred.
        CELERY_SKIP_CHECKS="1",
        REMINDER_RETRY_BASE_SECONDS=str(timing.retry_base),
        REMINDER_RETRY_CAP_SECONDS=str(timing.retry_cap),
        REMINDER_MAX_ATTEMPTS=str(timing.max_attempts),
        REMINDER_SENDING_LEASE_SECONDS=str(timing.sending_lease),
        REMINDER_QUEUED_LEASE_SECONDS=str(timing.queued_lease),
        REMINDER_SEND_BATCH_SIZE=str(timing.batch_size),
        DRILL_VISIBILITY_TIMEOUT=str(timing.visibility_timeout),
        DRILL_BEAT_MINUTE_SECONDS=str(timing.beat_minute),
        DRILL_SWEEP_EVERY_MINUTES=str(timing.sweep_every_minutes),
        DRILL_PLAN_EVERY_MINUTES=str(timing.plan_every_minutes),
    )
    # The worker refuses the embedded development key with DEBUG off; a drill-only key is fine here.
    env.setdefault("SECRET_KEY", "fault-drill-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
    return env


class CeleryProcess:
    """One `celery -A crm …` process group, logging to a file; SIGKILL takes the whole group."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path):
        self.args, self.env, self.log_path = args, env, log_path
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        celery = str(Path(sys.executable).with_name("celery"))
        with open(self.log_path, "ab") as log:
            log.write(f"\n--- start {self.starts + 1} at {timezone.now().isoformat()}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [celery, "-A", "crm", *self.args],
                cwd=BASE_DIR,
                env=self.env,
                start_new_session=True,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.starts += 1

    def wait_ready(self, marker: str, timeout: float = 120) -> bool:
        """Wait for `marker` in this start's part of the log (a worker's "ready.", beat's "Starting...")."""
        header = f"--- start {self.starts} at"

        def ready() -> bool:
            text = self.log_path.read_text(errors="replace")
            return marker in text[text.rfind(header) :]

        return wait_until(ready, timeout=timeout, poll=0.2)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the main process and its pool: no chance to ack, reject or clean up."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(15)

    def stop(self) -> None:
        if not self.alive:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.kill()


def worker(env: dict[str, str], workdir: Path, name: str, concurrency: int = 2) -> CeleryProcess:
    args = ["worker", "-P", "prefork", "-c", str(concurrency), "-l", "info", "--without-gossip"]
    args += ["--without-mingle", "--without-heartbeat", "-n", f"{name}-{os.getpid()}@%h"]
    return CeleryProcess(args, env, workdir / f"{name}.log")


def beat(env: dict[str, str], workdir: Path, name: str) -> CeleryProcess:
    args = ["beat", "-l", "info", "-s", str(workdir / f"{name}-schedule"), "--pidfile", ""]
    return CeleryProcess(args, env, workdir / f"{name}.log")


def send_task(broker_url: str, name: str) -> None:
    """Enqueue a task by name on the drill's broker, as beat would.

    An explicit connection: Celery lets CELERY_BROKER_URL in the environment override `broker=`.
    """
    from celery import Celery
    from kombu import Connection

    app = Celery("fault-drill")
    with Connection(broker_url) as conn:
        app.send_task(name, connection=conn)
    app.close()


# --- data -----------------------------------------------------------------------------------------
def remove_earlier_drills() -> None:
    """Drill tenants of earlier runs would otherwise be served by the next run's dispatcher."""
    from crm.models import Tenant

    Tenant.objects.filter(slug__startswith=SLUG_PREFIX).delete()


def create_shop(name: str):
    """A drill tenant with the default rules, open around the clock."""
    from crm.models import Tenant
    from reminders.services import reminder_defaults_create

    tenant = Tenant.objects.create(
        slug=f"{SLUG_PREFIX}{name}-{int(time.time())}",
        name=f"Fault drill {name}",
        sender_email=f"info@{name}.drill.test",
        phone="03-0000-0000",
        address="東京都品川区1-2-3",
        send_window_start=clock(0, 0),
        send_window_end=clock(23, 59, 59),
    )
    reminder_defaults_create(tenant=tenant)
    return tenant


def add_customers(tenant, n: int, *, start: int = 0) -> None:
    """n opted-in customers, each with one vehicle whose 車検 is due in 30 days (one inspection reminder)."""
    from customers.models import Customer, Vehicle

    now, expiry = timezone.now(), timezone.localdate() + timedelta(days=30)
    for offset in range(0, n, 1000):
        customers = Customer.objects.for_tenant(tenant).bulk_create(
            [
                Customer(
                    tenant=tenant,
                    family_name="山田",
                    given_name=f"太郎{i}",
                    email=f"drill{i}@example.jp",
                    consent="opted_in",
                    consent_at=now,
                    consent_source="fault drill",
                )
                for i in range(start + offset, start + min(offset + 1000, n))
            ]
        )
        Vehicle.objects.for_tenant(tenant).bulk_create(
            [
                Vehicle(
                    tenant=tenant,
                    customer=c,
                    maker="トヨタ",
                    model_name="プリウス",
                    plate_number="品川 300 さ 12-34",
                    inspection_expiry=expiry,
                )
                for c in customers
            ]
        )


def plan(tenant) -> int:
    call_command("plan_reminders", tenant=tenant.slug, stdout=open(os.devnull, "w"))  # noqa: SIM115
    return sum(status_counts(tenant.pk).values())


# --- observing the rows ---------------------------------------------------------------------------
def _rows(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as c:
        c.execute(sql, params)
        return c.fetchall()


def status_counts(tenant_id: int) -> Counter:
    rows = _rows(
        "SELECT status, count(*) FROM reminders_reminder WHERE tenant_id = %s GROUP BY status", [tenant_id]
    )
    return Counter(dict(rows))


def ids_in_status(tenant_id: int, status: str) -> set[int]:
    sql = "SELECT id FROM reminders_reminder WHERE tenant_id = %s AND status = %s"
    return {r[0] for r in _rows(sql, [tenant_id, status])}


def attempts_by_id(tenant_id: int) -> dict[int, int]:
    return dict(_rows("SELECT id, attempts FROM reminders_reminder WHERE tenant_id = %s", [tenant_id]))


def duplicate_rows(tenant_id: int) -> int:
    """Reminder rows beyond one per (rule, step, customer, vehicle, occasion): must be 0."""
    sql = (
        "SELECT count(*) - count(DISTINCT (rule_id, step, customer_id, COALESCE(vehicle_id, 0), "
        "occasion_date)) "
        "FROM reminders_reminder WHERE tenant_id = %s"
    )
    return _rows(sql, [tenant_id])[0][0]


def done(tenant_id: int) -> bool:
    counts = status_counts(tenant_id)
    return sum(counts[s] for s in IN_FLIGHT) == 0


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> str:
    with connection.cursor() as c:
        c.execute("SHOW server_version")
        pg = c.fetchone()[0].split()[0]
    return f"nproc={os.cpu_count()}, PostgreSQL {pg}, Python {sys.version.split()[0]}"
