"""Starting an import job: the upload is stored, audited, and its import queued for a worker.

Not re-exported by `customers.imports`: this module enqueues `customers.tasks.import_csv_task`, and
the task module imports the package to run the job (`customers.imports.jobs`).
"""

from __future__ import annotations

from typing import BinaryIO

from django.db import transaction

from crm.models import AuditAction, Tenant
from crm.security.audit import audit_record
from customers.models import ImportJob, ImportKind
from customers.tasks import import_csv_task


def count_data_rows(fileobj: BinaryIO) -> int:
    """Data rows in a file, counted cheaply from its newlines (for a progress bar's total)."""
    count = 0
    for chunk in iter(lambda: fileobj.read(1 << 20), b""):
        count += chunk.count(b"\n")
    fileobj.seek(0)
    return max(count - 1, 0)


@transaction.atomic
def import_job_create(*, tenant: Tenant, kind: str, upload, skip_invalid: bool = False, created_by=None):
    """Store an uploaded CSV under MEDIA_ROOT and queue its import; the job shows progress meanwhile."""
    job = ImportJob(tenant=tenant, kind=ImportKind(kind), skip_invalid=skip_invalid, created_by=created_by)
    job.rows_estimated = count_data_rows(upload)
    job.file.save(getattr(upload, "name", None) or f"{kind}.csv", upload, save=False)
    job.full_clean()
    job.save()
    audit_record(
        tenant=tenant,
        action=AuditAction.IMPORT_QUEUED,
        target=job,
        actor=created_by,
        summary=f"{job.kind}: ~{job.rows_estimated} rows",
        changes={"kind": job.kind, "rows_estimated": job.rows_estimated, "skip_invalid": skip_invalid},
    )
    transaction.on_commit(lambda: import_csv_task.delay(tenant.pk, job.pk))
    return job
