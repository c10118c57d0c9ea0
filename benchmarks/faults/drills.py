"""The reminder fault drills of issue #7 ("Load and faults"), each returning a dict of what happened.

    export DJANGO_SETTINGS_MODULE=benchmarks.settings
    python manage.py fault_drill redis-restart --reminders 10000
    python manage.py fault_drill worker-sigkill --reminders 10000 --kills 100
    python manage.py fault_drill smtp-down --reminders 1000 --smtp-down-seconds 600
    python manage.py fault_drill double-beat --simulated-hours 1

Every drill plans its rows, starts real worker and beat processes against a private Redis and an
SMTP sink, injects its fault, waits until no row is pending, queued or sending, and then compares
what the SMTP server accepted (by Message-ID, which names the reminder) with the rows:

- lost: planned rows the SMTP server never accepted (target 0);
- duplicates: messages accepted more than once. The design allows exactly one kind: a message the
  server accepted whose "sent" commit did not happen because the worker died (docs/architecture.md,
  "The one duplicate window"). The SIGKILL drill records, at each kill, which rows were both
  accepted and still "sending" — any duplicate outside that set is a bug.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from cryptography.fernet import Fernet
from django.utils import timezone

from benchmarks.faults import harness as h

Log = Callable[[str], None]


def _quiet(_msg: str) -> None:
    pass


class Drill:
    """One drill run: a private Redis, the SMTP sink, a shop with N due reminders, workers and beats."""

    def __init__(
        self,
        scenario: str,
        *,
        reminders: int,
        timing: h.Timing,
        workdir: Path | None = None,
        redis_port: int | None = None,
        appendonly: bool = True,
        channel: str = "email",
        log: Log = _quiet,
    ):
        self.scenario, self.n, self.timing, self.log = scenario, reminders, timing, log
        self.channel = channel
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix=f"fault-drill-{scenario}-")).resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.redis = h.RedisServer(self.workdir, port=redis_port, appendonly=appendonly)
        self.sink = h.LineSink() if channel == "line" else h.MessageSink()
        self.processes: list[h.CeleryProcess] = []
        self.started = time.monotonic()
        self.load_before = h.loadavg()

    def __enter__(self) -> Drill:
        try:
            return self._set_up()
        except BaseException:
            self.__exit__()
            raise

    def _set_up(self) -> Drill:
        h.remove_earlier_drills()
        self.redis.start()
        self.sink.start()
        line = self.channel == "line"
        # The shop's LINE credentials are encrypted at rest: one throw-away key for this process and
        # the workers (their SECRET_KEY may differ from this process's).
        encryption_key = Fernet.generate_key().decode() if line else ""
        self.env = h.process_env(
            broker_url=self.redis.url,
            smtp_port=0 if line else self.sink.port,
            timing=self.timing,
            line_url=self.sink.url if line else "",
            encryption_key=encryption_key,
        )
        self.tenant = h.create_shop(self.scenario)
        if self.n:
            h.add_customers(self.tenant, self.n)
            if line:
                h.add_line_contacts(self.tenant, encryption_key=encryption_key)
            planned = h.plan(self.tenant)
            if planned != self.n:
                raise RuntimeError(f"planned {planned} reminders, expected {self.n}")
            if line:
                self.sink.learn(self.tenant.pk)
            self.log(f"{self.n} reminders planned for {self.tenant.slug}; logs in {self.workdir}")
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc) -> None:
        for p in self.processes:
            p.stop()
        self.sink.stop()
        self.redis.close()

    # --- processes ---
    def start_worker(self, name: str = "worker", concurrency: int = 2) -> h.CeleryProcess:
        w = h.worker(self.env, self.workdir, name, concurrency)
        w.start()
        self.processes.append(w)
        return w

    def start_beat(self, name: str = "beat") -> h.CeleryProcess:
        b = h.beat(self.env, self.workdir, name)
        b.start()
        self.processes.append(b)
        return b

    def wait_ready(self) -> None:
        """Wait until every worker and beat started so far is up, then restart the drill's clock."""
        for p in self.processes:
            marker = "beat: Starting..." if p.args[0] == "beat" else " ready."
            if not p.wait_ready(marker):
                raise RuntimeError(f"{p.log_path.name} did not start: see {p.log_path}")
        self.started = time.monotonic()

    # --- observing ---
    @property
    def tid(self) -> int:
        return self.tenant.pk

    def received(self) -> int:
        return len(self.sink.arrivals(self.tid))

    def wait_received(self, n: float, timeout: float) -> bool:
        # Polled at 20 Hz: a fault is injected "after n messages", and at the idle machine's ~500 msg/s
        # a 0.5-s poll let the whole of a small drill go out before the fault (nothing left to test).
        return h.wait_until(lambda: self.received() >= n or h.done(self.tid), timeout=timeout, poll=0.05)

    def wait_drained(self, timeout: float) -> bool:
        drained = h.wait_until(lambda: h.done(self.tid), timeout=timeout, poll=1.0)
        time.sleep(2)  # a redelivered task still running would show up as a duplicate here
        return drained

    def arrival_times(self) -> list[float]:
        return sorted(t for t, _rid in self.sink.arrivals(self.tid))

    def outcome(self, drained: bool, **extra) -> dict:
        counts = self.sink.counts(self.tid)
        statuses = h.status_counts(self.tid)
        rows = sum(statuses.values())
        sent = h.ids_in_status(self.tid, "sent")
        received = set(counts)
        arrivals = self.arrival_times()
        result = {
            "scenario": self.scenario,
            "date": timezone.now().strftime("%Y-%m-%d %H:%M UTC"),
            "rows": rows,
            "received_unique": len(received),
            "lost": rows - len(received),
            "duplicates": sum(n - 1 for n in counts.values()),
            "statuses": dict(sorted(statuses.items())),
            "drained": drained,
            # Consistency of the outbox with what the server saw: both must be 0.
            "sent_not_received": len(sent - received),
            "received_not_sent": len(received - sent),
            "duplicate_rows": h.duplicate_rows(self.tid),
            "channel": self.channel,
            # LINE: pushes repeated with an accepted retry key (409), i.e. duplicates the key caught.
            **({"deduplicated_by_retry_key": self.sink.deduplicated()} if self.channel == "line" else {}),
            "total_s": round((arrivals[-1] if arrivals else time.monotonic()) - self.started, 1),
            **extra,
            "load_before": self.load_before,
            "load_after": h.loadavg(),
            "machine": h.machine(),
        }
        return result


def _rate(times: list[float], end: float) -> float:
    """Messages per second from the first message up to `end` (worker start-up not counted)."""
    inside = [t for t in times if t < end]
    if len(inside) < 2:
        return 0.0
    return round((len(inside) - 1) / (end - inside[0]), 1)


# --- Redis restarted under a dispatch --------------------------------------------------------------
def redis_restart(
    *,
    reminders: int = 10_000,
    down_seconds: float = 5.0,
    at_fraction: float = 0.3,
    mode: str = "kill",
    timing: h.Timing | None = None,
    timeout: float = 3600,
    redis_port: int | None = None,
    workdir: Path | None = None,
    channel: str = "email",
    log: Log = _quiet,
) -> dict:
    """Restart the broker once `at_fraction` of the messages went out.

    mode: "kill" (SIGKILL, AOF on: the production shape, a crash), "graceful" (SHUTDOWN, AOF flushed),
    "wipe" (SIGKILL without persistence: every queued task is gone; only the sweeper brings the rows
    back, after the queued lease).
    """
    if mode not in {"kill", "graceful", "wipe"}:
        raise ValueError(f"unknown mode {mode!r}")
    timing = timing or h.Timing()
    with Drill(
        "redis-restart",
        reminders=reminders,
        timing=timing,
        workdir=workdir,
        redis_port=redis_port,
        appendonly=mode != "wipe",
        channel=channel,
        log=log,
    ) as d:
        d.start_worker()
        d.start_beat()
        d.wait_ready()
        d.wait_received(reminders * at_fraction, timeout=timeout)
        t_fault = time.monotonic()
        before = d.received()
        statuses_at_fault = dict(h.status_counts(d.tid))
        log(f"Redis {mode} after {before} messages ({t_fault - d.started:.0f} s); rows {statuses_at_fault}")
        d.redis.shutdown() if mode == "graceful" else d.redis.kill()
        time.sleep(down_seconds)
        d.redis.start()
        t_up = time.monotonic()
        log(f"Redis back after {t_up - t_fault:.1f} s")
        drained = d.wait_drained(timeout)
        times = d.arrival_times()
        after_up = [t for t in times if t >= t_up]
        rate_before = _rate(times, t_fault)
        return d.outcome(
            drained,
            mode=mode,
            down_s=round(t_up - t_fault, 1),
            received_before_fault=before,
            rows_at_fault=statuses_at_fault,
            rate_before_per_s=rate_before,
            first_message_after_restart_s=round(after_up[0] - t_up, 1) if after_up else None,
            last_message_after_restart_s=round(after_up[-1] - t_up, 1) if after_up else None,
            # Time lost to the fault: the run's length minus what the remaining messages take at the
            # rate before the fault.
            extra_time_s=round(max(times[-1], t_up) - t_fault - (reminders - before) / rate_before, 1)
            if times and rate_before
            else None,
            timing=vars(timing),
        )


# --- a worker SIGKILLed again and again ------------------------------------------------------------
def worker_sigkill(
    *,
    reminders: int = 10_000,
    kills: int = 100,
    max_gap: float = 3.0,
    seed: int | None = None,
    kill_for_s: float | None = None,
    timing: h.Timing | None = None,
    timeout: float = 3600,
    workdir: Path | None = None,
    channel: str = "email",
    log: Log = _quiet,
) -> dict:
    """SIGKILL the worker's process group `kills` times, each at a random moment (0…max_gap s) after the
    restarted worker delivered its first message, and restart it at once. `kill_for_s` stops the
    killing earlier (a time budget); the result says how many kills were done."""
    rng = random.Random(seed)
    timing = timing or h.Timing()
    with Drill(
        "worker-sigkill", reminders=reminders, timing=timing, workdir=workdir, channel=channel, log=log
    ) as d:
        w = d.start_worker()
        d.start_beat()
        d.wait_ready()
        window: set[int] = set()  # rows accepted by the server and still "sending" at a kill
        in_flight_at_kills = 0
        done_kills = 0
        for k in range(kills):
            if kill_for_s is not None and time.monotonic() - d.started > kill_for_s:
                break
            seen = d.received()
            if not d.wait_received(seen + 1, timeout=timeout / 4) or h.done(d.tid):
                break
            time.sleep(rng.uniform(0, max_gap))
            w.kill()
            sending = h.ids_in_status(d.tid, "sending")
            window |= sending & set(d.sink.counts(d.tid))
            in_flight_at_kills += len(sending)
            done_kills += 1
            if (k + 1) % 10 == 0:
                log(f"kill {k + 1}: {d.received()} received, {len(sending)} rows sending at the kill")
            w.start()
        t_last = time.monotonic()
        log(f"{done_kills} kills done after {t_last - d.started:.0f} s; waiting for the rest")
        drained = d.wait_drained(timeout)
        counts = d.sink.counts(d.tid)
        duplicated = {rid for rid, n in counts.items() if n > 1}
        times = d.arrival_times()
        return d.outcome(
            drained,
            kills=done_kills,
            kills_asked=kills,
            rows_sending_at_kills=in_flight_at_kills,
            window_rows=len(window),
            duplicates_outside_window=len(duplicated - window),
            duplicate_ids_outside_window=sorted(duplicated - window)[:20],
            recovery_after_last_kill_s=round(times[-1] - t_last, 1) if times and times[-1] > t_last else 0.0,
            worker_starts=w.starts,
            timing=vars(timing),
        )


# --- the SMTP server down --------------------------------------------------------------------------
def smtp_down(
    *,
    reminders: int = 1000,
    down_seconds: float = 600,
    at_fraction: float = 0.1,
    timing: h.Timing | None = None,
    timeout: float = 7200,
    workdir: Path | None = None,
    outage: str = "refuse",
    channel: str = "email",
    log: Log = _quiet,
) -> dict:
    """Stop the SMTP server (or the fake LINE API: `channel="line"`; `outage="5xx"` keeps it up but
    answering 503) once `at_fraction` went out, start it again after `down_seconds`.

    Each row's attempt counter is polled every second, so the delays between its attempts (the
    backoff as it happened, ±1 s) are measured from the outside.
    """
    timing = timing or h.Timing.production_retries()
    with Drill(
        "smtp-down" if channel == "email" else f"{channel}-down",
        reminders=reminders,
        timing=timing,
        workdir=workdir,
        channel=channel,
        log=log,
    ) as d:
        d.start_worker()
        d.start_beat()
        d.wait_ready()
        d.wait_received(reminders * at_fraction, timeout=timeout)
        before = d.received()
        if channel == "line" and outage == "5xx":
            d.sink.fake.always = 503  # up, but every answer a 503 (LINE's own outage)
        else:
            d.sink.stop()  # connections refused
        t_down = time.monotonic()
        log(f"{channel} provider down ({outage}) after {before} messages")
        attempt_times: dict[int, list[float]] = defaultdict(list)
        last: dict[int, int] = {}

        def observe() -> None:
            now = time.monotonic()
            for rid, attempts in h.attempts_by_id(d.tid).items():
                if attempts != last.get(rid, 0):
                    attempt_times[rid].append(now)
                    last[rid] = attempts

        observe()  # attempts made before the outage are the baseline
        attempt_times.clear()
        while time.monotonic() - t_down < down_seconds:
            observe()
            time.sleep(1)
        sent_while_down = d.received() - before
        if channel == "line" and outage == "5xx":
            d.sink.fake.always = None
        else:
            d.sink.start()
        t_up = time.monotonic()
        log(f"{'SMTP server' if channel == 'email' else 'LINE API'} back after {t_up - t_down:.0f} s")
        deadline = t_up + timeout
        while not h.done(d.tid) and time.monotonic() < deadline:
            observe()
            time.sleep(1)
        drained = d.wait_drained(timeout=max(0.0, deadline - time.monotonic()))
        delays: dict[int, list[float]] = defaultdict(list)  # attempt number during the outage -> delay
        for stamps in attempt_times.values():
            for i in range(1, len(stamps)):
                delays[i].append(stamps[i] - stamps[i - 1])
        times = d.arrival_times()
        after_up = [t for t in times if t >= t_up]
        attempts = h.attempts_by_id(d.tid).values()
        return d.outcome(
            drained,
            down_s=round(t_up - t_down, 1),
            received_before_outage=before,
            received_during_outage=sent_while_down,
            rows_retried=len(attempt_times),
            max_attempts_used=max(attempts, default=0),
            retry_delays_s={
                f"{i}->{i + 1}": {
                    "n": len(v),
                    "median": round(statistics.median(v), 1),
                    "max": round(max(v), 1),
                }
                for i, v in sorted(delays.items())
            },
            longest_retry_delay_s=round(max((max(v) for v in delays.values()), default=0.0), 1),
            retry_cap_s=timing.retry_cap,
            outage=outage if channel != "email" else "refuse",
            first_message_after_recovery_s=round(after_up[0] - t_up, 1) if after_up else None,
            drain_after_recovery_s=round(after_up[-1] - t_up, 1) if after_up else None,
            timing=vars(timing),
        )


# --- two beat processes ----------------------------------------------------------------------------
def double_beat(
    *,
    simulated_hours: float = 1.0,
    minute_seconds: float = 1.0,
    customers_per_minute: int = 20,
    plan_every_minutes: int = 10,
    workers: int = 2,
    timeout: float = 1800,
    workdir: Path | None = None,
    log: Log = _quiet,
) -> dict:
    """Two beat processes with the production task names, the clock sped up to `minute_seconds` a
    minute, for `simulated_hours`; meanwhile the shop gains customers every minute, so each planning
    run (every `plan_every_minutes`, from both beats at once) has rows to create and each dispatch
    (every minute, from both) rows to claim."""
    timing = h.Timing(
        beat_minute=minute_seconds, sweep_every_minutes=5, plan_every_minutes=plan_every_minutes
    )
    minutes = round(simulated_hours * 60)
    with Drill("double-beat", reminders=0, timing=timing, workdir=workdir, log=log) as d:
        for i in range(workers):
            d.start_worker(f"worker{i + 1}")
        beats = [d.start_beat("beat1"), d.start_beat("beat2")]
        d.wait_ready()
        for m in range(minutes):
            h.add_customers(d.tenant, customers_per_minute, start=m * customers_per_minute)
            pause = d.started + (m + 1) * minute_seconds - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            if (m + 1) % 10 == 0:
                log(f"simulated minute {m + 1}: {d.received()} messages, rows {dict(h.status_counts(d.tid))}")
        for b in beats:
            b.stop()
        concurrent_rows = sum(h.status_counts(d.tid).values())
        # Customers added after the last planning run: one final plan and dispatch, from one place.
        h.plan(d.tenant)
        h.send_task(d.redis.url, "reminders.tasks.dispatch_due_reminders")
        drained = d.wait_drained(timeout)
        ticks = {
            b.log_path.stem: {
                "dispatch": b.log_path.read_text().count("Sending due task dispatch-due-reminders"),
                "plan": b.log_path.read_text().count("Sending due task plan-reminders"),
                "sweep": b.log_path.read_text().count("Sending due task sweep-stuck-reminders"),
            }
            for b in beats
        }
        vehicles = customers_per_minute * minutes
        return d.outcome(
            drained,
            simulated_minutes=minutes,
            minute_seconds=minute_seconds,
            vehicles=vehicles,
            rows_planned_by_the_two_beats=concurrent_rows,
            beat_ticks=ticks,
            missing_rows=vehicles - sum(h.status_counts(d.tid).values()),
            timing=vars(timing),
        )


SCENARIOS = {
    "redis-restart": redis_restart,
    "worker-sigkill": worker_sigkill,
    "smtp-down": smtp_down,
    "double-beat": double_beat,
}
