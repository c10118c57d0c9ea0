"""Settings for the dispatch benchmark's worker: the project settings with database connection reuse pinned.

Celery's Django fix-up closes the database connection after every task unless CELERY_DB_REUSE_MAX is set.
crm/settings.py now sets it too (default 1000, from the environment); this module pins it for the benchmark
whatever the environment says. To measure the close-after-every-task behaviour instead, run the bench with
BENCH_WORKER_SETTINGS=crm.settings CELERY_DB_REUSE_MAX=0 (see docs/benchmarks.md, Reminders).
"""

from crm.settings import *  # noqa: F403

CELERY_DB_REUSE_MAX = 1000
