#!/usr/bin/env bash
# Load test with row-level security on vs off (figures: docs/reliability.md, "## Load").
# Creates the database if missing, migrates, then runs `manage.py bench_load` (benchmarks.settings)
# under the shared benchmark lock. Extra arguments go to bench_load (e.g. --seconds 20 --rounds 3).
# Usage: benchmarks/load.sh [bench_load options]   (env: LOAD_DB, PG_BASE)
set -euo pipefail
cd "$(dirname "$0")/.."
base=${PG_BASE:-postgres://postgres@127.0.0.1:5432}
db=${LOAD_DB:-kizuna_load}
if ! psql "$base/postgres" -Atc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
  psql "$base/postgres" -qc "CREATE DATABASE $db"
fi
# The bench connects as a superuser on purpose (it seeds across tenants, and its "RLS off" server is
# exactly a role that bypasses the policies): the check that refuses such a role is silenced here only.
export DJANGO_SETTINGS_MODULE=benchmarks.settings  # the bench commands exist only there
export DATABASE_URL="$base/$db" DATABASE_OWNER_URL="" KIZUNA_VAR_DIR=${KIZUNA_VAR_DIR:-var/load}
export KIZUNA_ALLOW_RLS_BYPASS=true
.venv/bin/python manage.py migrate -v0
exec flock /tmp/kizuna-bench.lock .venv/bin/python manage.py bench_load "$@"
