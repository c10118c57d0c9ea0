"""Celery tasks of the customer record: thin wrappers taking ids."""

from __future__ import annotations

from celery import shared_task

from crm.models import Tenant
from customers.imports import import_job_run


@shared_task(name="customers.tasks.import_csv_task", acks_late=True)
def import_csv_task(tenant_id: int, job_id: int) -> int | None:
    """Import one uploaded CSV (an ImportJob). A second delivery finds the job no longer pending.

    Not a `@tenant_task`: the import commits several times (claim, rows, outcome) and progress is
    written from a second connection; `import_job_run` sets the tenant in each of its transactions.
    """
    tenant = Tenant.objects.get(pk=tenant_id)
    report = import_job_run(tenant=tenant, job_id=job_id)
    return None if report is None else report.rows_imported


import_csv_task.multi_transaction = True  # sets the tenant per transaction itself (see the docstring)
