"""Fast bulk loading of many rows: COPY on PostgreSQL, executemany elsewhere.

Used by demo/benchmark seeding and bulk imports where building a model instance per row would
dominate the time. Callers pass database-ready tuples in the order of `columns` (attnames) and
explicit primary keys; `reset_sequences` afterwards keeps later inserts from colliding.
`stage_columns` loads column lists into a temporary table, for writes that update a table in place.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from itertools import islice

from django.core.management.color import no_style
from django.db import connection, models

COPY_CHUNK_ROWS = 50_000
_PLAIN_NUMBERS = (int, float)
_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")
EXECUTEMANY_CHUNK_ROWS = 5_000


def _copy_text(value) -> str:
    """One value in PostgreSQL COPY text format."""
    if value is None:
        return "\\N"
    if type(value) in _PLAIN_NUMBERS:  # the common case first (not bool: True is "t")
        return str(value)
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    if _COPY_SPECIAL.search(text):
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def _adapt(value):
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, date):
        return connection.ops.adapt_datefield_value(value)
    return value


def _row_security_active(cursor, table: str) -> bool:
    cursor.execute("SELECT row_security_active(%s::regclass)", [table])
    return bool(cursor.fetchone()[0])


def bulk_insert(model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Insert rows (tuples in `columns` order) into the model's table; returns the row count.

    PostgreSQL refuses `COPY ... FROM` into a table whose row-level security applies to the current
    role (the application role, crm.tenancy.rls): there the rows are copied into a temporary table first and
    moved with one INSERT ... SELECT, which the tenant policy checks row by row.
    """
    table = connection.ops.quote_name(model._meta.db_table)
    cols = ", ".join(connection.ops.quote_name(c) for c in columns)
    count = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            target = table
            if _row_security_active(cursor, table):
                target = connection.ops.quote_name(f"_bulk_{model._meta.db_table}")
                cursor.execute(f"DROP TABLE IF EXISTS {target}")
                # Same column types, no rows, no constraints: a plain staging area for COPY.
                cursor.execute(f"CREATE TEMPORARY TABLE {target} AS SELECT {cols} FROM {table} WITH NO DATA")  # noqa: S608
            buffer = io.StringIO()
            pending = 0

            def flush():
                buffer.seek(0)
                # Table and column names come from model metadata, quoted; no user input reaches the SQL.
                cursor.cursor.copy_expert(f"COPY {target} ({cols}) FROM STDIN", buffer)
                buffer.seek(0)
                buffer.truncate()

            for row in rows:
                buffer.write("\t".join(_copy_text(v) for v in row))
                buffer.write("\n")
                pending += 1
                count += 1
                if pending >= COPY_CHUNK_ROWS:
                    flush()
                    pending = 0
            if pending:
                flush()
            if target != table:
                cursor.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {target}")  # noqa: S608
                cursor.execute(f"DROP TABLE {target}")
        else:
            sql = f"INSERT INTO {table} ({cols}) VALUES ({', '.join(['%s'] * len(columns))})"  # noqa: S608
            batch = []
            for row in rows:
                batch.append([_adapt(v) for v in row])
                count += 1
                if len(batch) >= EXECUTEMANY_CHUNK_ROWS:
                    cursor.executemany(sql, batch)
                    batch = []
            if batch:
                cursor.executemany(sql, batch)
    return count


def _copy_column(values: Sequence) -> Sequence[str]:
    """One column's values in COPY text format; columns of plain numbers, or of text that needs no
    escaping (checked in one search over the whole column), at C speed."""
    if all(type(v) in _PLAIN_NUMBERS for v in values):
        return list(map(str, values))
    if all(type(v) is str for v in values) and not _COPY_SPECIAL.search("".join(values)):
        return values
    return [_copy_text(v) for v in values]


def stage_columns(name: str, model: type[models.Model], columns: dict[str, Sequence]) -> int:
    """A new temporary table `name` with the types of the model's `columns`, filled from one list per
    column (equal lengths); returns the row count. The caller drops it (`DROP TABLE`) when done.

    For writes that change a table in place (UPDATE … FROM the staged rows, INSERT the new ones, DELETE
    the vanished ones): a temporary table has no row-level security, so COPY fills it under the
    application role too. The first column is the key the staged rows are matched on: it alone is
    analysed (the row count and its statistics are what the joins' plans need; every column would
    cost several times more, most of it in a JSON column).
    """
    table = connection.ops.quote_name(model._meta.db_table)
    target = connection.ops.quote_name(name)
    cols = ", ".join(connection.ops.quote_name(c) for c in columns)
    values = list(columns.values())
    count = len(values[0]) if values else 0
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {target}")
        # Names come from model metadata and the caller's constant, quoted; no user input reaches the SQL.
        cursor.execute(f"CREATE TEMPORARY TABLE {target} AS SELECT {cols} FROM {table} WHERE 1 = 0")  # noqa: S608
        if connection.vendor == "postgresql":
            text = [_copy_column(column) for column in values]
            for start in range(0, count, COPY_CHUNK_ROWS):
                chunk = [column[start : start + COPY_CHUNK_ROWS] for column in text]
                buffer = io.StringIO("\n".join(map("\t".join, zip(*chunk, strict=True))) + "\n")
                cursor.cursor.copy_expert(f"COPY {target} ({cols}) FROM STDIN", buffer)
            cursor.execute(f"ANALYZE {target} ({connection.ops.quote_name(next(iter(columns)))})")
        else:
            sql = f"INSERT INTO {target} ({cols}) VALUES ({', '.join(['%s'] * len(columns))})"  # noqa: S608
            rows = zip(*values, strict=True)
            while batch := [[_adapt(v) for v in row] for row in islice(rows, EXECUTEMANY_CHUNK_ROWS)]:
                cursor.executemany(sql, batch)
    return count


def next_id(model: type[models.Model]) -> int:
    """The first free primary key of a table (for callers that assign explicit ids).

    On PostgreSQL the id sequence decides, not MAX(id): under row-level security MAX(id) covers only
    the current tenant's rows, and another tenant's rows may hold every id above it.
    """
    table = connection.ops.quote_name(model._meta.db_table)
    pk = connection.ops.quote_name(model._meta.pk.column)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"SELECT GREATEST(nextval(pg_get_serial_sequence(%s, %s)), "  # noqa: S608 — names from model metadata
                f"(SELECT COALESCE(MAX({pk}), 0) + 1 FROM {table}))",
                [table, model._meta.pk.column],
            )
        else:
            cursor.execute(f"SELECT COALESCE(MAX({pk}), 0) + 1 FROM {table}")  # noqa: S608
        return cursor.fetchone()[0]


def reset_sequences(*model_classes: type[models.Model]) -> None:
    """After inserting explicit ids, move each table's id sequence past the largest id.

    On PostgreSQL the sequence only ever moves forward: under row-level security MAX(id) sees one
    tenant's rows, and Django's own reset (setval to MAX) could move it back under other tenants' ids.
    """
    if connection.vendor != "postgresql":
        statements = connection.ops.sequence_reset_sql(no_style(), list(model_classes))
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
        return
    with connection.cursor() as cursor:
        for model in model_classes:
            table = connection.ops.quote_name(model._meta.db_table)
            pk = connection.ops.quote_name(model._meta.pk.column)
            cursor.execute(
                f"SELECT setval(seq, GREATEST(COALESCE(pg_sequence_last_value(seq), 0), "  # noqa: S608
                f"(SELECT COALESCE(MAX({pk}), 0) FROM {table}), 1)) "
                f"FROM (SELECT pg_get_serial_sequence(%s, %s)::regclass AS seq) s",
                [table, model._meta.pk.column],
            )


def analyze_tables(*model_classes: type[models.Model]) -> None:
    """Refresh the planner's statistics after a bulk load (PostgreSQL): without them a freshly loaded
    100,000-customer tenant gets sequential scans where indexes fit, and pages take seconds."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in model_classes:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
