"""What an import reports: every bad cell as (row, column, message), and the totals."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class RowError:
    row: int  # the line's row number as a spreadsheet shows it: the header is row 1
    column: str
    message: str


@dataclass
class ImportReport:
    rows_total: int = 0
    rows_imported: int = 0  # rows written (in a dry run: rows that would be written)
    errors: list[RowError] = field(default_factory=list)
    encoding: str = ""
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class FileError(Exception):
    """The file as a whole cannot be imported (encoding, header)."""

    def __init__(self, column: str, message: str):
        super().__init__(message)
        self.column = column
        self.message = message
