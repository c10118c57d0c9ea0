#!/usr/bin/env bash
# Times `seed_demo --customers 100000` into a fresh PostgreSQL database (figures: docs/benchmarks.md).
# Usage: benchmarks/seed_demo.sh [customers] [postgres base url]
set -euo pipefail
cd "$(dirname "$0")/.."
customers=${1:-100000}
base=${2:-postgres://postgres@127.0.0.1:5432}
db=kizuna_bench_seed
psql "$base/postgres" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
export DATABASE_URL="$base/$db" KIZUNA_VAR_DIR=var/bench-seed
.venv/bin/python manage.py migrate -v0
/usr/bin/time -f "wall %e s, peak RSS %M KiB" .venv/bin/python manage.py seed_demo --tenant bench-big --customers "$customers" --no-refresh
