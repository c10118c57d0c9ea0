"""Gunicorn settings read automatically from the working directory (the Docker image's /app).

Access log lines leave out the query string and the referrer: a search for a customer's e-mail
address or phone number (`/customers/?q=...`) must not end up in the logs (personal data, APPI).

Workers: the app is CPU-bound Python between short database round trips, so one sync worker per
core plus one (to use a core while another worker waits for PostgreSQL) is the default; more
workers only queue for the same cores (docs/benchmarks.md, "Bookings"). WEB_CONCURRENCY overrides
it, as does `--workers` on the command line. The app is loaded once in the master before the
workers fork (`preload_app`), so a new worker serves its first request without importing every view
(crm/wsgi.py warms the URL configuration and the translations).
"""

import multiprocessing
import os

access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)ss "%(a)s"'
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1))
preload_app = True
