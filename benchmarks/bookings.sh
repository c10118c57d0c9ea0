#!/usr/bin/env bash
# Booking benchmarks (figures: docs/benchmarks.md, "## Bookings"): free slots over 60 days with 10,000
# bookings, the calendar week view, the public booking page under 20 concurrent clients.
# Creates the database if missing, migrates, then runs `manage.py bench_bookings` under the shared
# benchmark lock. Extra arguments go to bench_bookings.   (env: BOOKINGS_DB, PG_BASE, CACHE_URL)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null && [[ " $* " != *" --skip-load "* ]]; then
  echo "bookings.sh: the load test needs wrk (apt-get install wrk), or pass --skip-load" >&2
  exit 1
fi
base=${PG_BASE:-postgres://postgres@127.0.0.1:5432}
db=${BOOKINGS_DB:-kizuna_bookings_bench}
if ! psql "$base/postgres" -Atc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
  psql "$base/postgres" -qc "CREATE DATABASE $db"
fi
# A superuser on a throw-away database (it seeds a shop); the check that refuses one is silenced here only.
export DATABASE_URL="$base/$db" DATABASE_OWNER_URL="" KIZUNA_VAR_DIR=${KIZUNA_VAR_DIR:-var/bench-bookings}
export KIZUNA_ALLOW_RLS_BYPASS=true
export DJANGO_SETTINGS_MODULE=benchmarks.settings  # the bench commands exist only there
.venv/bin/python manage.py migrate -v0
exec flock /tmp/kizuna-bench.lock .venv/bin/python manage.py bench_bookings "$@"
