"""Text to records: the CSV reader, the header checked against the kind, one {column: cell} per line."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from django.utils.translation import gettext as _

from customers.imports.kinds import KIND_SPECS
from customers.imports.report import FileError, ImportReport, RowError


def check_header(kind: str, header: list[str]) -> list[str]:
    """The header's column names, cleaned; FileError for a column the kind cannot take or lacks."""
    spec = KIND_SPECS[kind]
    header = [h.strip().lstrip("\ufeff") for h in header]
    unknown = [h for h in header if h and h not in spec.columns]
    if unknown:
        raise FileError(unknown[0], _("Unknown column. Allowed columns: %s") % ", ".join(spec.columns))
    if len(set(header)) != len(header):
        dup = next(h for h in header if header.count(h) > 1)
        raise FileError(dup, _("This column appears twice."))
    for required in spec.required:
        if required not in header:
            raise FileError(required, _("This column is required."))
    if (
        kind in ("vehicles", "purchases")
        and "customer" not in header
        and "customer_external_ref" not in header
    ):
        raise FileError("customer_external_ref", _("Give customer_external_ref or customer."))
    if kind == "service_records" and "vehicle" not in header and "vehicle_external_ref" not in header:
        raise FileError("vehicle_external_ref", _("Give vehicle_external_ref or vehicle."))
    return header


def records(
    text: io.TextIOWrapper, *, kind: str, report: ImportReport
) -> Iterator[tuple[int, dict[str, str]]]:
    """The data lines as (row number, {column: cell}), once the header has passed `check_header`.

    Blank lines are skipped; every other line counts in `report.rows_total`, and one with the wrong
    number of cells is reported instead of yielded. Raises FileError for an empty file or a bad header,
    csv.Error for broken quoting.
    """
    reader = csv.reader(text)
    header = next(reader, None)
    if header is None:
        raise FileError("", _("The file is empty."))
    header = check_header(kind, header)
    width = len(header)
    for index, cells in enumerate(reader):
        line = index + 2
        if not any(c.strip() for c in cells):
            continue  # blank lines, common at the end of Excel exports
        report.rows_total += 1
        if len(cells) != width:
            report.errors.append(
                RowError(
                    line,
                    "",
                    _("Expected %(want)d cells, found %(got)d.") % {"want": width, "got": len(cells)},
                )
            )
            continue
        yield line, dict(zip(header, cells, strict=True))
