"""Reminders on real parts: PostgreSQL, Redis, a real Celery worker process and a real SMTP server.

The worker runs as `celery -A crm worker` in a subprocess against the pytest test database; the
SMTP server is aiosmtpd inside this process. Retry backoff is shortened through the environment
(REMINDER_RETRY_BASE_SECONDS / REMINDER_RETRY_CAP_SECONDS) so every test takes seconds.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import time as clock
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.utils import timezone

from reminders.dispatch import reminders_sweep_stuck
from reminders.models import Reminder, ReminderStatus
from reminders.planner import plan_reminders
from reminders.services import reminder_defaults_create, unsubscribe_token_read
from reminders.tasks import dispatch_due_reminders, enqueue_sends
from tests.factories import CustomerFactory, TenantFactory, VehicleFactory

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

BASE_DIR = Path(settings.BASE_DIR)
WAIT_SECONDS = 60


# --- a real SMTP server ---------------------------------------------------------------------------
class RecordingHandler:
    """Accepts messages (or answers with a fixed error), recording each accepted message."""

    def __init__(self):
        self.messages = []
        self.reply_error: str | None = None  # e.g. "550 5.1.1 mailbox unavailable"
        self.delay = 0.0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        if self.reply_error:
            return self.reply_error
        if self.delay:
            time.sleep(self.delay)  # a slow server: keeps a batch in flight long enough to kill the worker
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def message_ids(self) -> Counter:
        with self.lock:
            return Counter(m["Message-ID"] for m in self.messages)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpServer:
    def __init__(self):
        self.port = _free_port()
        self.handler = RecordingHandler()
        self.controller = None

    def start(self):
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


# --- a real Celery worker -------------------------------------------------------------------------
def _env(smtp_port: int) -> dict[str, str]:
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        EMAIL_URL=f"smtp://127.0.0.1:{smtp_port}",
        EMAIL_TIMEOUT="5",
        REMINDER_RETRY_BASE_SECONDS="1",
        REMINDER_RETRY_CAP_SECONDS="2",
        SITE_URL="https://kizuna.example",
        CELERY_TASK_ALWAYS_EAGER="false",
    )
    if db.get("PASSWORD"):
        env["DATABASE_URL"] = env["DATABASE_URL"].replace("@", f":{db['PASSWORD']}@", 1)
    return env


class Worker:
    def __init__(self, smtp_port: int):
        self.smtp_port = smtp_port
        self.proc = None

    def start(self):
        celery = str(Path(sys.executable).with_name("celery"))
        self.proc = subprocess.Popen(
            [
                celery,
                "-A",
                "crm",
                "worker",
                "-P",
                "prefork",
                "-c",
                "2",
                "-l",
                "warning",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"reminders-test-{os.getpid()}@%h",
            ],
            cwd=BASE_DIR,
            env=_env(self.smtp_port),
            start_new_session=True,
        )

    def kill(self):
        """SIGKILL the whole worker (main process and its children): no chance to ack or clean up."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def broker():
    """An empty broker for each test (the test's Redis db is dedicated to the test run)."""
    import redis

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.flushdb()
    yield
    client.flushdb()


@pytest.fixture
def worker(smtp, broker):
    w = Worker(smtp.port)
    w.start()
    yield w
    w.stop()


# --- data -----------------------------------------------------------------------------------------
def _shop(n_customers: int, *, english: bool = False):
    """A shop open around the clock with `n_customers` opted-in customers whose 車検 is due in 30 days
    (English-speaking customers with `english`)."""
    tenant = TenantFactory(
        slug="real-shop",
        name="リアル自動車",
        send_window_start=clock(0, 0),
        send_window_end=clock(23, 59, 59),
        address="東京都品川区1-2-3",
    )
    reminder_defaults_create(tenant=tenant)  # the inspection rule's template is the Japanese one
    expiry = timezone.localdate() + timedelta(days=30)
    for i in range(n_customers):
        customer = CustomerFactory(
            tenant=tenant,
            consent="opted_in",
            consent_at=timezone.now(),
            email=f"c{i}@example.jp",
            language="en" if english else "ja",  # the customer's language picks the English template
        )
        VehicleFactory(
            customer=customer, inspection_expiry=expiry, plate_number=f"品川 300 さ {i % 100:02d}-01"
        )
    created = plan_reminders()
    assert created["inspection"] == n_customers
    return tenant


def _wait_for(predicate, timeout=WAIT_SECONDS, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _statuses(tenant) -> Counter:
    return Counter(Reminder.objects.for_tenant(tenant).values_list("status", flat=True))


# --- tests ----------------------------------------------------------------------------------------
def test_plan_dispatch_and_receive_with_the_right_headers_language_and_content(smtp, worker):
    tenant = _shop(3, english=True)

    dispatch_due_reminders.delay()

    _wait_for(lambda: _statuses(tenant) == {"sent": 3}, what="3 sent")
    assert len(smtp.handler.messages) == 3
    ids = {r.pk: r for r in Reminder.objects.for_tenant(tenant)}
    for msg in smtp.handler.messages:
        reminder_id = int(msg["X-Kizuna-Reminder"])
        assert msg["Message-ID"] == f"<reminder.{tenant.pk}.{reminder_id}@real-shop.test>"
        assert msg["Content-Language"] == "en"
        assert msg["Subject"].strip().startswith("Your vehicle inspection (shaken) is due: 品川 300 さ")
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        token = msg["List-Unsubscribe"].strip("<>").rsplit("/u/", 1)[1].rstrip("/")
        assert unsubscribe_token_read(token) == (tenant.pk, ids[reminder_id].customer_id)
        body = msg.get_body(preferencelist=("plain",)).get_content()
        assert "東京都品川区1-2-3" in body and "To stop receiving these e-mails" in body
    assert smtp.handler.message_ids().most_common(1)[0][1] == 1


def test_smtp_down_for_a_while_then_back_loses_nothing(smtp, worker):
    tenant = _shop(5)
    smtp.stop()

    dispatch_due_reminders.delay()
    _wait_for(
        lambda: Reminder.objects.for_tenant(tenant).filter(attempts__gte=2).count() == 5,
        what="every row retried at least once while the server is down",
    )
    assert _statuses(tenant)["sent"] == 0
    smtp.start()

    _wait_for(lambda: _statuses(tenant) == {"sent": 5}, what="5 sent after recovery")
    assert sorted(smtp.handler.message_ids().values()) == [1, 1, 1, 1, 1]
    assert max(Reminder.objects.for_tenant(tenant).values_list("attempts", flat=True)) <= 8


def test_smtp_5xx_fails_visibly_and_is_not_retried(smtp, worker):
    tenant = _shop(2)
    smtp.handler.reply_error = "550 5.1.1 mailbox unavailable"

    dispatch_due_reminders.delay()

    _wait_for(lambda: _statuses(tenant) == {"failed": 2}, what="2 failed")
    time.sleep(3)  # longer than the whole retry cap: nothing may try again
    rows = list(Reminder.objects.for_tenant(tenant).values_list("status", "attempts", "reason"))
    assert {(status, attempts) for status, attempts, _reason in rows} == {("failed", 1)}
    assert all("550" in reason for _s, _a, reason in rows)
    assert smtp.handler.messages == []


def test_worker_killed_mid_batch_loses_nothing_and_duplicates_stay_in_the_window(smtp, broker, settings):
    tenant = _shop(60)
    smtp.handler.delay = 0.05
    first = Worker(smtp.port)
    first.start()
    dispatch_due_reminders.delay()
    _wait_for(lambda: len(smtp.handler.messages) >= 10, what="the batch to be under way")

    first.kill()
    in_flight = set(
        Reminder.objects.for_tenant(tenant).filter(status=ReminderStatus.SENDING).values_list("pk", flat=True)
    )
    received_before = len(smtp.handler.messages)
    assert 0 < received_before < 60

    # Recovery: a new worker, and the sweeper with a lease shorter than the test.
    settings.REMINDER_SENDING_LEASE_SECONDS = 0
    settings.REMINDER_QUEUED_LEASE_SECONDS = 0
    second = Worker(smtp.port)
    second.start()
    try:
        time.sleep(0.5)
        reminders_sweep_stuck(enqueue=enqueue_sends)
        _wait_for(lambda: _statuses(tenant) == {"sent": 60}, what="all 60 sent after the kill")
    finally:
        second.stop()

    counts = smtp.handler.message_ids()
    assert len(counts) == 60  # nothing lost
    duplicates = {int(mid.split(".")[2].split("@")[0]) for mid, n in counts.items() if n > 1}
    print(
        f"\nworker kill: {received_before} received before the kill, {len(in_flight)} in flight, "
        f"{len(duplicates)} duplicate(s) at the SMTP server"
    )
    # Only a message the server had accepted while its row was still "sending" can arrive twice, and
    # each of the worker's two pool processes has at most one such message in flight.
    assert duplicates <= in_flight
    assert len(duplicates) <= 2


def test_planner_and_dispatcher_twice_at_the_same_time_create_no_duplicates(smtp, broker):
    tenant = _shop(0)
    expiry = timezone.localdate() + timedelta(days=30)
    for i in range(40):
        customer = CustomerFactory(
            tenant=tenant, consent="opted_in", consent_at=timezone.now(), email=f"p{i}@ex.jp"
        )
        VehicleFactory(customer=customer, inspection_expiry=expiry)
    env = _env(smtp.port)
    manage = [sys.executable, "manage.py"]

    planners = [
        subprocess.Popen([*manage, "plan_reminders"], cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL)
        for _ in range(2)
    ]
    assert [p.wait(60) for p in planners] == [0, 0]
    assert Reminder.objects.for_tenant(tenant).count() == 40

    dispatchers = [
        subprocess.Popen([*manage, "dispatch_reminders"], cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL)
        for _ in range(2)
    ]
    assert [p.wait(60) for p in dispatchers] == [0, 0]

    assert _statuses(tenant) == {"sent": 40}
    counts = smtp.handler.message_ids()
    assert len(counts) == 40
    assert set(counts.values()) == {1}


def test_two_celery_dispatchers_at_once_send_each_message_once(smtp, worker):
    tenant = _shop(30)

    dispatch_due_reminders.delay()
    dispatch_due_reminders.delay()

    _wait_for(lambda: _statuses(tenant) == {"sent": 30}, what="30 sent")
    time.sleep(1)
    counts = smtp.handler.message_ids()
    assert len(counts) == 30 and set(counts.values()) == {1}
