"""CSV import of customers, vehicles, purchases and service records (dashboard, API and command).

Columns are the API's field names; rows point at their customer and vehicle by `customer_external_ref`
/ `vehicle_external_ref` (or by id in `customer` / `vehicle`). Rows with an `external_ref` are upserted,
so a till can re-send its export. Japanese Excel files are read as they come: UTF-8, UTF-8 with BOM,
or Shift_JIS (cp932), detected from the bytes.

The pipeline, one module per step: `decode` (bytes → text), `parse` (CSV lines → records, header
checked against `kinds`), `validate` (records → rows, per cell and per kind), `resolve` (a batch's
references), `write` (set-based upserts), run by `pipeline.run_import` in one transaction. `report`
holds what comes back. Background jobs: `enqueue.import_job_create` stores an upload and queues
`customers.tasks.import_csv_task`, which runs `jobs.import_job_run`.

This package re-exports the pipeline's public names. `import_job_create` is imported from
`customers.imports.enqueue`: it imports the task module, which imports this package.
"""

from customers.imports.decode import detect_encoding
from customers.imports.jobs import import_job_run
from customers.imports.kinds import KIND_SPECS, KINDS
from customers.imports.pipeline import run_import
from customers.imports.report import ImportReport, RowError

__all__ = [
    "KINDS",
    "KIND_SPECS",
    "ImportReport",
    "RowError",
    "detect_encoding",
    "import_job_run",
    "run_import",
]
