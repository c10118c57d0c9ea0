"""CSV export that is safe to open in a spreadsheet (CSV/formula injection, OWASP).

A cell that starts with = + - @ tab or carriage return is read as a formula by Excel, LibreOffice
and Google Sheets; prefixing it with a single quote makes it plain text. Every CSV download of
Kizuna goes through `csv_response`, so no export can forget it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable

from django.http import StreamingHttpResponse

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    """The cell as text, neutralised when a spreadsheet would evaluate it. None becomes ""."""
    if value is None:
        return ""
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


class _Echo:
    def write(self, value):
        return value


def csv_rows(rows: Iterable[Iterable]) -> Iterable[str]:
    """Encode rows lazily as CSV lines, every cell passed through `safe_cell`."""
    writer = csv.writer(_Echo())
    for row in rows:
        yield writer.writerow([safe_cell(cell) for cell in row])


def csv_response(rows: Iterable[Iterable], filename: str) -> StreamingHttpResponse:
    """A streaming CSV download (UTF-8 with BOM so Excel on Japanese Windows reads it correctly).

    `rows` may be a generator (e.g. over `queryset.values_list(...).iterator()`); the first row is
    usually the header. `filename` should be ASCII.
    """

    def stream():
        yield "\ufeff"
        yield from csv_rows(rows)

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
