"""Japanese public holidays (祝日, 振替休日, 国民の休日), computed by the `jpholiday` package.

`jpholiday` checks every date against every holiday rule (about half a millisecond a day), so a
year's list is computed once per process and kept: the holidays of a year never change at run time.
"""

from __future__ import annotations

import functools
from datetime import date

import jpholiday


@functools.lru_cache(maxsize=32)
def _year(year: int) -> tuple[tuple[date, str], ...]:
    return tuple(jpholiday.year_holidays(year))


def public_holidays(start: date, end: date) -> dict[date, str]:
    """The public holidays in [start, end] with their names, substitute holidays included."""
    found: dict[date, str] = {}
    for year in range(start.year, end.year + 1):
        found.update((day, name) for day, name in _year(year) if start <= day <= end)
    return found
