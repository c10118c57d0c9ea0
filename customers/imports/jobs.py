"""Running an import job on the worker: claim it once, import its file, record progress and outcome."""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils import timezone

from crm.models import Tenant
from crm.tenancy.rls import tenant_context
from customers.imports.pipeline import run_import
from customers.imports.report import ImportReport
from customers.models import ImportJob, ImportStatus

PROGRESS_EVERY_ROWS = 5_000


def _write_progress(*, tenant_id: int, job_id: int, rows: int) -> None:
    """Record progress from inside the import's transaction, so other connections can see it.

    The import holds one transaction (all-or-nothing); an UPDATE through it would stay invisible until
    the end. On PostgreSQL a short second connection in autocommit writes the count; SQLite (single
    writer) only gets the final count.
    """
    if connection.vendor != "postgresql":
        return
    side = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with side.cursor() as cursor:
            # Its own short transaction, with the tenant set in it: row-level security (crm.tenancy.rls)
            # applies to this connection too, and a transaction-local setting cannot outlive it.
            cursor.execute("BEGIN")
            cursor.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant_id)])
            cursor.execute(
                f"UPDATE {ImportJob._meta.db_table} SET rows_processed = %s WHERE id = %s AND tenant_id = %s",  # noqa: S608
                [rows, job_id, tenant_id],
            )
            cursor.execute("COMMIT")
    finally:
        side.close()


def import_job_run(*, tenant: Tenant, job_id: int) -> ImportReport | None:
    """Run a queued import. Safe to deliver twice: a job that is no longer pending is left alone."""
    # Several commits on purpose (the claim, the import, the outcome), so each one sets the tenant for
    # row-level security itself (crm.tenancy.rls); the caller must not wrap this in one transaction.
    with tenant_context(tenant.pk):
        claimed = (
            ImportJob.objects.for_tenant(tenant)
            .filter(pk=job_id, status=ImportStatus.PENDING)
            .update(status=ImportStatus.RUNNING)
        )
        if not claimed:
            return None
        job = ImportJob.objects.for_tenant(tenant).get(pk=job_id)
    last = [0]

    def progress(rows: int) -> None:
        if rows - last[0] >= PROGRESS_EVERY_ROWS:
            last[0] = rows
            _write_progress(tenant_id=tenant.pk, job_id=job_id, rows=rows)

    try:
        with job.file.open("rb") as fileobj, tenant_context(tenant.pk):
            report = run_import(
                tenant=tenant,
                kind=job.kind,
                fileobj=fileobj,
                skip_invalid=job.skip_invalid,
                progress=progress,
            )
    except Exception:
        with tenant_context(tenant.pk):
            ImportJob.objects.for_tenant(tenant).filter(pk=job_id).update(
                status=ImportStatus.FAILED, finished_at=timezone.now()
            )
        raise
    with tenant_context(tenant.pk):
        ImportJob.objects.for_tenant(tenant).filter(pk=job_id).update(
            status=ImportStatus.DONE if report.ok or job.skip_invalid else ImportStatus.FAILED,
            rows_processed=report.rows_total,
            report=report.as_dict(),
            finished_at=timezone.now(),
        )
    return report
