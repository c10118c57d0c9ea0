"""Settings of the worker and beat processes a fault drill starts: the benchmarks' (the project's, see
benchmarks/settings.py), with the clock sped up.

Only what recovery waits for changes (values from the environment the drill sets, see
harness.Timing): the broker's redelivery timeout for unacknowledged tasks, and the beat schedule,
whose "minute" lasts DRILL_BEAT_MINUTE_SECONDS. The task names are the production schedule's.
"""

import os
from datetime import timedelta

from benchmarks.settings import *  # noqa: F403
from benchmarks.settings import CELERY_BROKER_TRANSPORT_OPTIONS, CELERY_BROKER_URL

_visibility = int(os.environ.get("DRILL_VISIBILITY_TIMEOUT", "3600"))
if CELERY_BROKER_URL.startswith("redis"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        **CELERY_BROKER_TRANSPORT_OPTIONS,
        "visibility_timeout": _visibility,
        # kombu looks for expired unacknowledged tasks every interval × throttle seconds (default 100 s):
        # keep that a small fraction of a shortened timeout.
        "unacked_restore_interval": max(1, min(10, _visibility // 20)),
        "unacked_restore_throttle": 1 if _visibility < 600 else 10,
    }

_minute = float(os.environ.get("DRILL_BEAT_MINUTE_SECONDS", "60"))
CELERY_BEAT_SCHEDULE = {
    "dispatch-due-reminders": {
        "task": "reminders.tasks.dispatch_due_reminders",
        "schedule": timedelta(seconds=_minute),
    },
    "sweep-stuck-reminders": {
        "task": "reminders.tasks.sweep_stuck_reminders",
        "schedule": timedelta(seconds=_minute * int(os.environ.get("DRILL_SWEEP_EVERY_MINUTES", "5"))),
    },
}
_plan_every = int(os.environ.get("DRILL_PLAN_EVERY_MINUTES", "0"))
if _plan_every:
    CELERY_BEAT_SCHEDULE["plan-reminders"] = {
        "task": "reminders.tasks.plan_all_reminders",
        "schedule": timedelta(seconds=_minute * _plan_every),
    }
