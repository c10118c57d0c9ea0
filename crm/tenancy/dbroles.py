"""The two PostgreSQL roles of a deployment, and the grants that keep them apart (see docs/architecture.md).

* the owner role (DATABASE_OWNER_URL) owns the schema and runs `manage.py migrate`;
* the application role (DATABASE_URL; `kizuna_app` by default) is what web, worker and beat connect as:
  LOGIN, not a superuser, no BYPASSRLS, owns nothing, holds DML grants only. Row-level security
  therefore always applies to it.

Used by `manage.py create_db_roles`, by `manage.py migrate` (re-applies the grants after migrating)
and by the tests.
"""

from __future__ import annotations

from contextlib import contextmanager

import environ
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper

DEFAULT_APP_ROLE = "kizuna_app"

# Tables the application may read and append to but never change (triggers refuse it too).
APPEND_ONLY_TABLES = ("crm_auditevent",)


def _q(connection: BaseDatabaseWrapper, name: str) -> str:
    return connection.ops.quote_name(name)


def create_app_role_sql(connection, role: str, password: str | None) -> list[str]:
    """Create (or re-assert the attributes of) the application role. Needs CREATEROLE or a superuser."""
    r = _q(connection, role)
    attrs = "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION INHERIT"
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        exists = cursor.fetchone() is not None
    sql = [f"{'ALTER' if exists else 'CREATE'} ROLE {r} {attrs}"]
    if password:
        sql.append(f"ALTER ROLE {r} PASSWORD {_literal(password)}")
    return sql


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def grant_app_role_sql(connection, role: str, owner: str) -> list[str]:
    """Grants for the application role on the current database; run by the owner (or a superuser).

    DML on every table and sequence that exists, and default privileges so that tables the owner
    creates later (new migrations) are usable at once.
    """
    r = _q(connection, role)
    o = _q(connection, owner)
    db = _q(connection, connection.settings_dict["NAME"])
    defaults = f"ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA public"
    sql = [
        f"GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {r}",
        f"GRANT USAGE ON SCHEMA public TO {r}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {r}",
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {r}",
        f"{defaults} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {r}",
        f"{defaults} GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {r}",
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename = ANY(%s)",
            [list(APPEND_ONLY_TABLES)],
        )
        sql += [f"REVOKE UPDATE, DELETE ON {_q(connection, t)} FROM {r}" for (t,) in cursor.fetchall()]
    return sql


def role_exists(connection, role: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        return cursor.fetchone() is not None


@contextmanager
def as_owner(alias: str = DEFAULT_DB_ALIAS):
    """Run the block with `alias` connected as the owner role of DATABASE_OWNER_URL (if configured).

    Only the credentials and the server address are taken from DATABASE_OWNER_URL; the database name
    stays the application's, so `migrate` always migrates the database the application uses (and
    the test database when pytest-django creates one). Yields the owner's role name, or None when no
    owner is configured (then the block runs with the normal credentials).
    """
    owner_url = getattr(settings, "DATABASE_OWNER_URL", "")
    if not owner_url:
        yield None
        return
    owner = environ.Env.db_url_config(owner_url)
    conn = connections[alias]
    saved = dict(conn.settings_dict)
    conn.close()
    conn.settings_dict.update({k: owner[k] for k in ("USER", "PASSWORD", "HOST", "PORT") if k in owner})
    try:
        yield owner.get("USER")
    finally:
        conn.close()
        conn.settings_dict.clear()
        conn.settings_dict.update(saved)
