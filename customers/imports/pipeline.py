"""The import of one file: decode → parse → validate → resolve → write, in batches, in one transaction.

Memory stays flat however long the file: rows are read one at a time (`parse.records`), validated with
the model's own field validators (`validate.RowValidator`), and written in batches of IMPORT_BATCH_ROWS
with one multi-row upsert per batch (`write.BatchWriter`). Only the set of external refs seen so far
grows with the file, to report duplicates.

By default the whole file is one transaction: any invalid row and nothing is written, but every bad row
is still reported. With `skip_invalid` the valid rows are written and the bad ones reported.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import BinaryIO

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Tenant
from customers.imports.decode import text_stream
from customers.imports.kinds import KIND_SPECS, KINDS
from customers.imports.parse import records
from customers.imports.report import FileError, ImportReport, RowError
from customers.imports.resolve import resolve
from customers.imports.validate import Row, RowValidator
from customers.imports.write import BatchWriter

IMPORT_BATCH_ROWS = 1_000


class Importer:
    def __init__(self, *, tenant: Tenant, kind: str, skip_invalid: bool, dry_run: bool, progress):
        if kind not in KIND_SPECS:
            raise ValueError(f"Unknown import kind {kind!r}; choose one of {', '.join(KINDS)}")
        self.tenant = tenant
        self.kind = kind
        self.skip_invalid = skip_invalid
        self.dry_run = dry_run
        self.progress = progress
        self.report = ImportReport(dry_run=dry_run)
        now = timezone.now()
        self.validator = RowValidator(tenant=tenant, kind=kind, now=now)
        self.writer = BatchWriter(tenant=tenant, kind=kind, now=now)

    def run(self, fileobj: BinaryIO) -> ImportReport:
        report = self.report
        try:
            text, report.encoding = text_stream(fileobj)
        except OSError as exc:
            report.errors.append(RowError(0, "", str(exc)))
            return report
        with transaction.atomic():
            try:
                self._run_rows(text)
            except FileError as exc:
                report.errors.append(RowError(1, exc.column, exc.message))
            except UnicodeDecodeError:
                # Decoding fails a chunk at a time, not at a known line, and every row after it is
                # unreadable: the file as a whole is refused (row 1), so nothing of it is written.
                report.errors.append(RowError(1, "", _("The file is neither UTF-8 nor Shift_JIS text.")))
            except csv.Error as exc:
                report.errors.append(RowError(report.rows_total + 1, "", _("Broken CSV: %s") % exc))
            report.errors.sort(key=lambda e: e.row)
            whole_file_refused = any(e.row <= 1 for e in report.errors)  # encoding or header
            if whole_file_refused or (report.errors and not self.skip_invalid):
                report.rows_imported = 0
                transaction.set_rollback(True)
            elif self.dry_run:
                transaction.set_rollback(True)
        text.detach()
        return report

    def _run_rows(self, text: io.TextIOWrapper) -> None:
        report = self.report
        batch: list[Row] = []
        for line, record in records(text, kind=self.kind, report=report):
            row, errors = self.validator.row(line, record)
            if errors:
                report.errors.extend(errors)
                continue
            batch.append(row)
            if len(batch) >= IMPORT_BATCH_ROWS:
                self._flush(batch)
                batch = []
        self._flush(batch)

    def _flush(self, batch: list[Row]) -> None:
        if not batch:
            return
        report = self.report
        valid = []
        for row, errors in resolve(batch, tenant=self.tenant, kind=self.kind):
            if errors:
                report.errors.extend(errors)
            else:
                valid.append(row)
        writing = self.skip_invalid or not report.errors
        if writing and not self.dry_run:
            self.writer.write(valid)
        if writing:
            report.rows_imported += len(valid)
        if self.progress is not None:
            self.progress(report.rows_total)


def run_import(
    *,
    tenant: Tenant,
    kind: str,
    fileobj: BinaryIO,
    skip_invalid: bool = False,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import a CSV of `kind` (customers, vehicles, purchases, service_records) into the tenant.

    Any invalid row and nothing is written (every bad row is reported), unless `skip_invalid`.
    `dry_run` validates everything and writes nothing. `progress(rows_read)` is called per batch.
    """
    return Importer(
        tenant=tenant, kind=kind, skip_invalid=skip_invalid, dry_run=dry_run, progress=progress
    ).run(fileobj)
