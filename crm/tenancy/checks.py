"""System checks of the database-level tenant isolation (crm.tenancy.rls), PostgreSQL only.

Tagged `database`: they run with `manage.py check --database default` (the deployment runs that
before starting web and worker, and CI runs it as the application role), not on every command.

* kizuna.E001 — the connected role could bypass row-level security (superuser, BYPASSRLS, or owner
  of a tenant table without FORCE would be; we refuse owners outright). Silenced only by
  KIZUNA_ALLOW_RLS_BYPASS=True, which the test settings set for the main suite: it connects as the
  `postgres` superuser because pytest-django must create and flush the test database.
* kizuna.E002 — a table with a tenant_id column lacks ENABLE + FORCE ROW LEVEL SECURITY or a policy.
  Never silenced.
"""

from __future__ import annotations

import contextvars
from contextlib import contextmanager

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.db import connections

_suspended: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "kizuna_rls_checks_suspended", default=False
)


@contextmanager
def rls_checks_suspended():
    """`migrate` runs before the policies exist (a fresh database, or an upgrade adding them)."""
    token = _suspended.set(True)
    try:
        yield
    finally:
        _suspended.reset(token)


TENANT_TABLES_SQL = """
SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
       EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid) AS has_policy,
       pg_get_userbyid(c.relowner) AS owner
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
ORDER BY c.relname
"""


def tenant_tables(connection) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(TENANT_TABLES_SQL)
        cols = [c[0] for c in cursor.description]
        return [dict(zip(cols, row, strict=True)) for row in cursor.fetchall()]


def role_bypass_reasons(connection) -> list[str]:
    """Why the connected role would not be held by the tenant policies (empty: it is held)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        )
        user, is_super, bypass = cursor.fetchone()
    reasons = []
    if is_super:
        reasons.append(f"role {user!r} is a superuser")
    if bypass:
        reasons.append(f"role {user!r} has BYPASSRLS")
    owned = [t["relname"] for t in tenant_tables(connection) if t["owner"] == user]
    if owned:
        reasons.append(
            f"role {user!r} owns tenant tables ({', '.join(owned[:5])}{'…' if len(owned) > 5 else ''})"
        )
    return reasons


def check_tenant_rls(connection) -> list[Error]:
    errors = []
    if not getattr(settings, "KIZUNA_ALLOW_RLS_BYPASS", False):
        reasons = role_bypass_reasons(connection)
        if reasons:
            errors.append(
                Error(
                    "The database role could bypass row-level security: " + "; ".join(reasons) + ".",
                    hint="Connect the application (DATABASE_URL) as the application role (manage.py "
                    "create_db_roles) and migrate with DATABASE_OWNER_URL.",
                    id="kizuna.E001",
                )
            )
    for table in tenant_tables(connection):
        missing = [
            label
            for label, ok in (
                ("ENABLE ROW LEVEL SECURITY", table["relrowsecurity"]),
                ("FORCE ROW LEVEL SECURITY", table["relforcerowsecurity"]),
                ("a policy", table["has_policy"]),
            )
            if not ok
        ]
        if missing:
            errors.append(
                Error(
                    f"Tenant table {table['relname']!r} lacks {', '.join(missing)}.",
                    hint="Add crm.tenancy.rls.EnableTenantRLS('<Model>') to the migration creating it, "
                    "then migrate.",
                    id="kizuna.E002",
                )
            )
    return errors


@register(Tags.database)
def tenant_rls_check(app_configs=None, databases=None, **kwargs):
    if _suspended.get() or not databases:
        return []
    errors = []
    for alias in databases:
        connection = connections[alias]
        if connection.vendor == "postgresql":
            errors += check_tenant_rls(connection)
    return errors
