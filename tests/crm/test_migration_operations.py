"""crm.db.migration_operations: indexes built without blocking writes on PostgreSQL, plainly on SQLite."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = ("customers", "0007_vehicle_owned_indexes")
AFTER = ("customers", "0008_analytics_covering_indexes")
COVERING = ("purchase_tenant_cust_date_cov", "service_tenant_cust_date_cov")


def _migrate(target) -> list[str]:
    statements: list[str] = []

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate([target])
    return statements


def _index_names() -> set[str]:
    with connection.cursor() as cursor:
        names = set()
        for table in ("customers_purchase", "customers_servicerecord"):
            names |= set(connection.introspection.get_constraints(cursor, table))
        return names


@pytest.mark.django_db(transaction=True)
def test_covering_index_migration_goes_back_and_forth_building_online_on_postgres():
    down = _migrate(BEFORE)
    assert not set(COVERING) & _index_names()
    assert {"purchase_tenant_customer_date", "service_tenant_customer_date"} <= _index_names()
    up = _migrate(AFTER)
    assert set(COVERING) <= _index_names()
    assert not {"purchase_tenant_customer_date", "service_tenant_customer_date"} & _index_names()
    creates = [s for s in up if s.lstrip().upper().startswith("CREATE INDEX")]
    drops = [s for s in down + up if s.lstrip().upper().startswith("DROP INDEX")]
    assert len(creates) == 2 and drops
    online = connection.vendor == "postgresql"
    assert all(("CONCURRENTLY" in s) == online for s in creates + drops)
    if online:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT bool_and(indisvalid) FROM pg_index WHERE indexrelid::regclass::text = ANY(%s)",
                [list(COVERING)],
            )
            assert cursor.fetchone()[0] is True
