"""Migration operations that keep a busy PostgreSQL database writable while they run.

`CREATE INDEX` blocks every write to its table until the index is built: on the purchases table of a
running shop (tills posting sales) that is an outage. PostgreSQL's `CONCURRENTLY` builds it without
blocking writes, but only outside a transaction (the migration needs `atomic = False`) and only on
PostgreSQL; the embedded SQLite setup gets the plain statement. The migration state is the same as
`AddIndex` / `RemoveIndex`, so `makemigrations` sees no difference.

If a concurrent build is interrupted, PostgreSQL leaves an INVALID index behind: drop it
(`DROP INDEX CONCURRENTLY <name>`) and run `migrate` again.
"""

from __future__ import annotations

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db.migrations.operations import AddIndex, RemoveIndex


class _ConcurrentlyOnPostgres:
    """The concurrent operation on PostgreSQL; `plain` (the ordinary operation) on other databases."""

    plain: type

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        return self.plain.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        return self.plain.database_backwards(self, app_label, schema_editor, from_state, to_state)


class AddIndexOnline(_ConcurrentlyOnPostgres, AddIndexConcurrently):
    """`CREATE INDEX CONCURRENTLY` on PostgreSQL, `CREATE INDEX` elsewhere."""

    plain = AddIndex


class RemoveIndexOnline(_ConcurrentlyOnPostgres, RemoveIndexConcurrently):
    """`DROP INDEX CONCURRENTLY` on PostgreSQL, `DROP INDEX` elsewhere."""

    plain = RemoveIndex
