#!/bin/sh
# Run once by the postgres image when the data volume is initialised (docker-entrypoint-initdb.d), as
# POSTGRES_USER (`kizuna`, the schema owner). Creates the application role that web, worker and beat
# connect as: no superuser, no BYPASSRLS, owns nothing, so row-level security always applies to it.
# Table grants: default privileges here, and `manage.py migrate` re-grants after every migration
# (crm/tenancy/dbroles.py). `manage.py create_db_roles` does the same for an existing database.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  --set app_password="${KIZUNA_APP_DB_PASSWORD:?set KIZUNA_APP_DB_PASSWORD}" <<'SQL'
CREATE ROLE kizuna_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION
  PASSWORD :'app_password';
GRANT CONNECT, TEMPORARY ON DATABASE :"DBNAME" TO kizuna_app;
GRANT USAGE ON SCHEMA public TO kizuna_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO kizuna_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO kizuna_app;
SQL
