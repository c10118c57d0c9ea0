"""Database-level tenant isolation: PostgreSQL row-level security, set per transaction.

Every tenant-owned table carries a policy `tenant_id = current_setting('app.tenant_id')`, forced
even for the table owner. The application connects as a role that cannot bypass it, so a query
that forgot its `.for_tenant()` (or a raw SQL string) still sees only the active tenant's rows,
and a query outside any tenant context sees none (fail-closed).

The setting is always transaction-local (`set_config(..., true)`): it ends with the transaction,
so a pooled connection (CONN_MAX_AGE > 0, PgBouncer in transaction mode) never carries one
tenant's setting into another request or task.

* `set_db_tenant(tenant_id)`      — set the tenant in the current transaction.
* `tenant_context(tenant_id)`     — `transaction.atomic()` + the tenant; the previous value comes back
                                    on normal exit (a nested context inside an outer transaction).
* `current_db_tenant()`           — the tenant the database sees now, or None.
* `tenant_task`                   — decorator for Celery task functions taking `tenant_id` first.
* `EnableTenantRLS(model_name)`   — migration operation that enables and forces RLS on a table.

On SQLite (the newcomer's setup) everything here is a no-op: isolation there rests on the
application-level scoping of `crm.tenancy` alone.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.migrations.operations.base import Operation

TENANT_SETTING = "app.tenant_id"
USER_SETTING = "app.user_id"
API_KEY_HASH_SETTING = "app.api_key_hash"
POLICY_NAME = "tenant_isolation"


class TenantContextError(RuntimeError):
    """The tenant was set outside a transaction, where a transaction-local setting would vanish at once."""


def _is_postgres(using: str) -> bool:
    return connections[using].vendor == "postgresql"


def _require_atomic(using: str, what: str) -> None:
    # Checked on every backend, so misuse shows up in the SQLite test run too.
    if not connections[using].in_atomic_block:
        raise TenantContextError(
            f"{what} must run inside transaction.atomic(): the setting is transaction-local "
            f"and would end with the autocommit statement. Use crm.tenancy.rls.tenant_context()."
        )


def _set_local(name: str, value: str, using: str) -> None:
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT set_config(%s, %s, true)", [name, value])


def _get(name: str, using: str) -> str:
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT current_setting(%s, true)", [name])
        return cursor.fetchone()[0] or ""


def set_db_tenant(tenant_id: int | None, *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Make `tenant_id` (None: no tenant, no rows) the tenant of the current transaction."""
    _require_atomic(using, "set_db_tenant()")
    if not _is_postgres(using):
        return
    _set_local(TENANT_SETTING, "" if tenant_id is None else str(int(tenant_id)), using)


def set_db_user(user_id: int | None, *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Let the current transaction read this user's memberships before a tenant is chosen."""
    _require_atomic(using, "set_db_user()")
    if not _is_postgres(using):
        return
    _set_local(USER_SETTING, "" if user_id is None else str(int(user_id)), using)


def set_db_api_key_hash(hashed_key: str | None, *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Let the current transaction read the one API key whose hash was presented (authentication)."""
    _require_atomic(using, "set_db_api_key_hash()")
    if not _is_postgres(using):
        return
    _set_local(API_KEY_HASH_SETTING, hashed_key or "", using)


def current_db_tenant(*, using: str = DEFAULT_DB_ALIAS) -> int | None:
    """The tenant id PostgreSQL applies to the current transaction (None: none, or not PostgreSQL)."""
    if not _is_postgres(using):
        return None
    value = _get(TENANT_SETTING, using)
    return int(value) if value else None


@contextmanager
def tenant_context(tenant_id: int | None, *, using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Run the block in a transaction (or savepoint) whose queries see only `tenant_id`'s rows.

    On an exception the atomic block rolls back, and PostgreSQL reverts a setting made inside a
    rolled-back savepoint by itself; on normal exit the previous tenant is put back, so a nested
    context inside a longer transaction does not leak its tenant into the rest of it.
    """
    tenant_id = getattr(tenant_id, "pk", tenant_id)  # a Tenant is accepted too
    with transaction.atomic(using=using):
        previous = current_db_tenant(using=using)
        set_db_tenant(tenant_id, using=using)
        yield
        if previous != (None if tenant_id is None else int(tenant_id)):
            set_db_tenant(previous, using=using)


def tenant_task(func):
    """Decorator for a Celery task function whose first argument is `tenant_id` (after `self` for
    `bind=True` tasks): the body runs in `tenant_context(tenant_id)`. Put it under `@shared_task`.
    """
    params = list(inspect.signature(func).parameters)
    index = 1 if params and params[0] == "self" else 0
    if len(params) <= index or params[index] != "tenant_id":
        raise TypeError(f"@tenant_task: {func.__qualname__} must take tenant_id as its first argument")

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if len(args) > index:
            tenant_id = args[index]
        elif "tenant_id" in kwargs:
            tenant_id = kwargs["tenant_id"]
        else:
            raise TypeError(f"{func.__qualname__}() missing tenant_id")
        with tenant_context(tenant_id):
            return func(*args, **kwargs)

    wrapper.tenant_task = True
    return wrapper


# --- migrations ------------------------------------------------------------------------------------
def tenant_policy_sql(table: str, *, extra_using: str = "") -> list[str]:
    """SQL that enables, forces and defines the tenant policy on `table`.

    `NULLIF(..., '')` maps both "never set" and "set to empty" to NULL, and `tenant_id = NULL` is
    never true: without a tenant, no row is visible and no row can be written.
    `extra_using` widens only the read side (USING), never WITH CHECK: the authentication lookups
    that run before the tenant is known may read their one row, never write any.
    """
    tenant_match = f"tenant_id = NULLIF(current_setting('{TENANT_SETTING}', true), '')::bigint"
    using_clause = f"({tenant_match}){' OR (' + extra_using + ')' if extra_using else ''}"
    q = f'"{table}"'
    return [
        f"ALTER TABLE {q} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {q} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS {POLICY_NAME} ON {q}",
        f"CREATE POLICY {POLICY_NAME} ON {q} USING ({using_clause}) WITH CHECK ({tenant_match})",
    ]


def drop_tenant_policy_sql(table: str) -> list[str]:
    q = f'"{table}"'
    return [
        f"DROP POLICY IF EXISTS {POLICY_NAME} ON {q}",
        f"ALTER TABLE {q} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE {q} DISABLE ROW LEVEL SECURITY",
    ]


class EnableTenantRLS(Operation):
    """Enable and force row-level security with the tenant policy on a model's table (PostgreSQL only).

    `model_name` is a model of the migration's app, or "app_label.Model" for another app's model
    (crm's first RLS migration covers the tables that existed before; a new tenant-owned model
    enables RLS in its own app's migration, next to its CreateModel).
    `extra_using` is an SQL condition OR-ed into the read side of the policy; it exists for the two
    authentication lookups (memberships by user, API keys by hash) and should stay that rare.
    """

    reversible = True
    reduces_to_sql = True

    def __init__(self, model_name: str, extra_using: str = ""):
        self.model_name = model_name
        self.extra_using = extra_using

    def deconstruct(self):
        kwargs = {"model_name": self.model_name}
        if self.extra_using:
            kwargs["extra_using"] = self.extra_using
        return self.__class__.__qualname__, [], kwargs

    def state_forwards(self, app_label, state):
        pass

    def _table(self, app_label, state) -> str:
        if "." in self.model_name:
            app_label, model_name = self.model_name.split(".", 1)
        else:
            model_name = self.model_name
        return state.apps.get_model(app_label, model_name)._meta.db_table

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in tenant_policy_sql(self._table(app_label, to_state), extra_using=self.extra_using):
            schema_editor.execute(sql)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in drop_tenant_policy_sql(self._table(app_label, from_state)):
            schema_editor.execute(sql)

    def describe(self):
        return f"Enable tenant row-level security on {self.model_name}"

    @property
    def migration_name_fragment(self):
        return f"rls_{self.model_name.rsplit('.', 1)[-1].lower()}"
