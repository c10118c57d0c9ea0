"""Settings for `manage.py bench_api`'s gunicorn: the normal settings plus a bare comparison view.

Used only by the benchmark (DJANGO_SETTINGS_MODULE=benchmarks.api_bench_settings); production never
mounts the bare view.
"""

from benchmarks.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.api_bench_urls"
DEBUG = False
