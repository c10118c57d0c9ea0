#!/usr/bin/env bash
# PostgreSQL restarted under API load (figures: docs/reliability.md, "## PostgreSQL restart under API load").
#
# Never touches the machine's shared PostgreSQL: it creates a throw-away cluster of its own
# (default /tmp/kizuna-pg-drill on port 5440, run by the `postgres` OS user when started as root),
# migrates a database there, and runs `manage.py drill_pg_restart` (benchmarks.settings), which keeps
# API load on gunicorn while this cluster is restarted (`-m fast`, then `-m immediate`, a crash) and
# counts what was lost.
# Usage: benchmarks/pg_restart_drill.sh [drill_pg_restart options]   (env: DRILL_DIR, DRILL_PORT)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${DRILL_DIR:-/tmp/kizuna-pg-drill}
port=${DRILL_PORT:-5440}
bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}
as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }

if [ ! -f "$dir/PG_VERSION" ]; then
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  as_pg "'$bin/initdb' -D '$dir' -U postgres -A trust >/dev/null"
fi
ctl="'$bin/pg_ctl' -D '$dir' -l '$dir/server.log' -w -t 120"
opts="-p $port -k /tmp -c listen_addresses=127.0.0.1"
as_pg "$ctl status >/dev/null" || as_pg "$ctl -o '$opts' start >/dev/null"

base="postgres://postgres@127.0.0.1:$port"
psql "$base/postgres" -Atc "SELECT 1 FROM pg_database WHERE datname = 'kizuna_drill'" | grep -q 1 \
  || psql "$base/postgres" -qc "CREATE DATABASE kizuna_drill"
export DJANGO_SETTINGS_MODULE=benchmarks.settings  # the drill command exists only there
export DATABASE_URL="$base/kizuna_drill" DATABASE_OWNER_URL="" KIZUNA_VAR_DIR=${KIZUNA_VAR_DIR:-var/drill}
export KIZUNA_ALLOW_RLS_BYPASS=true  # this process sets up and verifies as the superuser; the API runs as kizuna_app
.venv/bin/python manage.py migrate -v0
.venv/bin/python manage.py create_db_roles >/dev/null
restart="$bin/pg_ctl -D $dir -l $dir/server.log -w -t 120 -o \"$opts\" restart -m {mode}"
[ "$(id -u)" = 0 ] && restart="su postgres -s /bin/sh -c '$restart'"
exec .venv/bin/python manage.py drill_pg_restart --restart-cmd "$restart" "$@"
