"""Settings for the dispatch benchmark's worker: the project settings plus database connection reuse.

Celery's Django fix-up closes the database connection after every task unless CELERY_DB_REUSE_MAX is
set; the benchmark measures both. Proposed for crm/settings.py (see docs/benchmarks.md, Reminders).
"""

from crm.settings import *  # noqa: F403

CELERY_DB_REUSE_MAX = 1000
