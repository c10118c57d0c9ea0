"""Reminder-delivery fault drills (benchmarks/faults/drills.py), figures for docs/reliability.md.

    DATABASE_URL=postgres://…/kizuna_faults flock /tmp/kizuna-bench.lock python manage.py \\
        fault_drill --settings=benchmarks.settings worker-sigkill --reminders 10000 --kills 100

Prints one line of JSON (also appended to --json-out) and a short summary. Use a throw-away
database: the drill deletes the tenants of its earlier runs. It starts its own redis-server and
never touches the broker in CELERY_BROKER_URL.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from benchmarks.faults import drills
from benchmarks.faults.harness import Timing


class Command(BaseCommand):
    help = "Run a reminder fault drill (redis-restart, worker-sigkill, smtp-down, double-beat)."

    def add_arguments(self, parser):
        parser.add_argument("scenario", choices=sorted(drills.SCENARIOS))
        parser.add_argument("--reminders", type=int, help="due reminders to deliver")
        parser.add_argument("--kills", type=int, default=100, help="worker-sigkill: SIGKILLs")
        parser.add_argument(
            "--max-gap", type=float, default=3.0, help="worker-sigkill: max seconds to a kill"
        )
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument("--kill-for-seconds", type=float, help="worker-sigkill: stop killing after this")
        parser.add_argument("--redis-down-seconds", type=float, default=5.0)
        parser.add_argument("--redis-mode", choices=["kill", "graceful", "wipe"], default="kill")
        parser.add_argument("--redis-port", type=int, default=6390, help="the drill's own redis-server")
        parser.add_argument("--smtp-down-seconds", type=float, default=600)
        parser.add_argument(
            "--fast-retries", action="store_true", help="smtp-down: 1 s base / 30 s cap instead of 60 / 1800"
        )
        parser.add_argument("--simulated-hours", type=float, default=1.0)
        parser.add_argument(
            "--minute-seconds", type=float, default=1.0, help="double-beat: real s per minute"
        )
        parser.add_argument("--customers-per-minute", type=int, default=20)
        parser.add_argument(
            "--timeout", type=float, default=3600, help="seconds to wait for the rows to drain"
        )
        parser.add_argument(
            "--workdir", type=Path, help="logs of the worker/beat processes (default: a temp dir)"
        )
        parser.add_argument(
            "--channel",
            choices=["email", "line"],
            default="email",
            help="deliver by e-mail or LINE (fake API)",
        )
        parser.add_argument(
            "--outage", choices=["refuse", "5xx"], default="refuse", help="smtp-down with --channel line"
        )
        parser.add_argument("--json-out", type=Path, help="append the JSON line to this file")

    def handle(self, *args, scenario, **o):
        if connection.vendor != "postgresql":
            raise CommandError(
                "fault_drill needs PostgreSQL (DATABASE_URL=postgres://…), on a throw-away database"
            )

        def log(msg):
            self.stdout.write(f"  {msg}")
            self.stdout.flush()

        common = dict(timeout=o["timeout"], workdir=o["workdir"], log=log)
        channel = {"channel": o["channel"]} if scenario != "double-beat" else {}
        if scenario == "redis-restart":
            result = drills.redis_restart(
                reminders=o["reminders"] or 10_000,
                down_seconds=o["redis_down_seconds"],
                mode=o["redis_mode"],
                redis_port=o["redis_port"],
                **common,
                **channel,
            )
        elif scenario == "worker-sigkill":
            result = drills.worker_sigkill(
                reminders=o["reminders"] or 10_000,
                kills=o["kills"],
                max_gap=o["max_gap"],
                seed=o["seed"],
                **common,
                **channel,
            )
        elif scenario == "smtp-down":
            timing = Timing() if o["fast_retries"] else Timing.production_retries()
            result = drills.smtp_down(
                reminders=o["reminders"] or 1000,
                down_seconds=o["smtp_down_seconds"],
                timing=timing,
                outage=o["outage"],
                **common,
                **channel,
            )
        else:
            result = drills.double_beat(
                simulated_hours=o["simulated_hours"],
                minute_seconds=o["minute_seconds"],
                customers_per_minute=o["customers_per_minute"],
                **common,
            )
        line = json.dumps(result, ensure_ascii=False)
        self.stdout.write(line)
        if o["json_out"]:
            with o["json_out"].open("a") as f:
                f.write(line + "\n")
        self.stdout.write(summary(result))


def summary(r: dict) -> str:
    ok = r["lost"] == 0 and r["drained"] and r["duplicate_rows"] == 0
    head = (
        f"{r['scenario']}: {r['rows']} rows, {r['received_unique']} received, lost {r['lost']}, "
        f"duplicates {r['duplicates']}, statuses {r['statuses']}, {r['total_s']} s "
        f"(load {r['load_before']} -> {r['load_after']})"
    )
    extra = {
        "redis-restart": lambda: (
            f"Redis down {r['down_s']} s; first message {r['first_message_after_restart_s']} s after the "
            f"restart, last {r['last_message_after_restart_s']} s; "
            f"time lost to the fault {r['extra_time_s']} s"
        ),
        "worker-sigkill": lambda: (
            f"{r['kills']} kills; {r['window_rows']} rows in the duplicate window, "
            f"{r['duplicates_outside_window']} duplicates outside it; "
            f"recovery after the last kill {r['recovery_after_last_kill_s']} s"
        ),
        "smtp-down": lambda: (
            f"{'SMTP server' if r.get('channel', 'email') == 'email' else 'LINE API'} down {r['down_s']} s"
            f"{' (' + r['outage'] + ')' if r.get('outage') else ''}; retry delays {r['retry_delays_s']} "
            f"(cap {r['retry_cap_s']} s); drained {r['drain_after_recovery_s']} s after recovery"
        ),
        "double-beat": lambda: (
            f"{r['simulated_minutes']} simulated minutes, beat ticks {r['beat_ticks']}; "
            f"duplicate rows {r['duplicate_rows']}, missing rows {r['missing_rows']}"
        ),
    }["smtp-down" if r["scenario"].endswith("-down") else r["scenario"]]()  # LINE: "line-down"
    return f"{'OK' if ok else 'TARGET MISSED'} — {head}\n{extra}"
