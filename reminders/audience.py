# ruff: noqa: S608 -- table and column names come from model metadata, never from input.
"""Audience of seasonal rules by customer segment.

Segments are computed by the analytics app and reach reminders through `customers.segments` (the
registered source's per-customer model, one row per customer with its current `segment` code); this
module only reads that table. With no source registered, a rule naming a segment matches nobody (fail
closed rather than e-mailing every customer); rules without a segment are unaffected.
"""

from __future__ import annotations

from customers.segments import segment_source

NO_SEGMENT = "(r.audience_segment IS NULL OR r.audience_segment = '')"


def _segment_table() -> tuple[str, str, str] | None:
    """(table, customer column, segment-code column) of the registered segment model, if any."""
    source = segment_source()
    if source is None:
        return None
    model = source.model
    return (
        model._meta.db_table,
        model._meta.get_field("customer").column,
        model._meta.get_field("segment").column,
    )


def segment_sql() -> str:
    """SQL condition on rule `r` and customer `c`: no segment chosen, or the customer is in it."""
    table = _segment_table()
    if table is None:
        return NO_SEGMENT
    name, customer_col, segment_col = table
    return (
        f"({NO_SEGMENT} OR EXISTS (SELECT 1 FROM {name} seg WHERE seg.tenant_id = c.tenant_id "
        f"AND seg.{customer_col} = c.id AND seg.{segment_col} = r.audience_segment))"
    )
