"""CSV output that Excel opens correctly (UTF-8 BOM) and that cannot smuggle formulas (CSV injection)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse

# A cell starting with one of these is run as a formula by Excel/LibreOffice/Google Sheets.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


def safe_cell(value) -> str:
    """The cell as text; a leading formula character is neutralised with a single quote."""
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # a number (even a negative refund) is data, never a formula
    text = str(value)
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


class _Echo:
    def write(self, value: str) -> str:
        return value


def _lines(header: list[str], rows: Iterable[Iterable]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield BOM + writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        yield writer.writerow([safe_cell(v) for v in row])


def csv_response(header: list[str], rows: Iterable[Iterable], filename: str) -> StreamingHttpResponse:
    """Stream rows as a CSV download (rows may be a generator over a large queryset)."""
    response = StreamingHttpResponse(
        (line.encode("utf-8") for line in _lines(header, rows)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
