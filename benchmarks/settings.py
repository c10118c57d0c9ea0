"""Settings for the benchmarks, load tests and drills: the project's, plus the `benchmarks` app.

Run every benchmark command with them (`python manage.py bench_api --settings=benchmarks.settings`,
docs/benchmarks.md and docs/reliability.md); the product settings never install this app, so its
commands do not exist in a deployment. The servers and workers a benchmark starts run with these
settings too (or with a module built on them, see api_bench_settings.py and faults/drill_settings.py),
so what is measured is the product's configuration and nothing else.

Celery's Django fix-up closes the database connection after every task unless CELERY_DB_REUSE_MAX is
set. crm/settings.py sets it too (default 1000, from the environment); this module pins it for the
benchmarks whatever the environment says. To measure the close-after-every-task behaviour instead, run
the reminders bench with BENCH_WORKER_SETTINGS=crm.settings CELERY_DB_REUSE_MAX=0 (docs/benchmarks.md,
Reminders).
"""

from crm.settings import *  # noqa: F403
from crm.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "benchmarks"]

CELERY_DB_REUSE_MAX = 1000
