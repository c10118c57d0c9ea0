"""Japanese public holidays (祝日, 振替休日, 国民の休日), computed by the `jpholiday` package."""

from __future__ import annotations

from datetime import date

import jpholiday


def public_holidays(start: date, end: date) -> dict[date, str]:
    """The public holidays in [start, end] with their names, substitute holidays included."""
    if end < start:
        return {}
    return dict(jpholiday.between(start, end))
