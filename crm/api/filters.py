"""Filters of the API's lists: whole numbers and ids within range, date-times normalised to UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from django import forms
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from rest_framework import exceptions

MAX_ID = 2**63 - 1


class IntegerFilter(filters.NumberFilter):
    """A whole-number filter (django-filter's NumberFilter accepts decimals and 1e308)."""

    field_class = forms.IntegerField


def IdFilter(field_name: str, **kwargs) -> IntegerFilter:
    """Filter by the id of a related row; out-of-range ids are a 400, not a database error."""
    return IntegerFilter(field_name=field_name, min_value=1, max_value=MAX_ID, **kwargs)


def _to_utc(value: datetime | None, name: str) -> datetime | None:
    # PostgreSQL rejects offsets beyond ±15:59 that ISO 8601 parsing accepts; UTC is always valid.
    if value is None:
        return None
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise exceptions.ValidationError({name: [_("Enter a valid date/time.")]}) from exc


class UtcDateTimeFilter(filters.IsoDateTimeFilter):
    """An ISO 8601 date-time filter whose value is normalised to UTC before it reaches the database."""

    def filter(self, qs, value):
        return super().filter(qs, _to_utc(value, self.field_name))


class UtcDateTimeFromToRangeFilter(filters.IsoDateTimeFromToRangeFilter):
    """`<name>_after` / `<name>_before` in ISO 8601, normalised to UTC."""

    def filter(self, qs, value):
        if value:
            value = slice(_to_utc(value.start, self.field_name), _to_utc(value.stop, self.field_name))
        return super().filter(qs, value)


class UpdatedSinceFilterSet(filters.FilterSet):
    updated_since = UtcDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text=_("Only rows changed at or after this time (ISO 8601), for incremental sync."),
    )
