# ruff: noqa: S608 -- table and column names come from model metadata, never from input.
"""Audience of seasonal rules by analytics segment.

The analytics app owns the per-customer segment table (`analytics.CustomerRFM`, one row per customer
with the current `segment` code, rebuilt on each refresh); this module only reads it. Should that
model be missing, a rule naming a segment matches nobody (fail closed rather than e-mailing every
customer); rules without a segment are unaffected.
"""

from __future__ import annotations

from django.apps import apps

NO_SEGMENT = "(r.audience_segment IS NULL OR r.audience_segment = '')"


def _segment_table() -> tuple[str, str, str] | None:
    """(table, customer column, segment-code column) of analytics' per-customer segment model, if any."""
    try:
        model = apps.get_model("analytics", "CustomerRFM")
    except LookupError:
        return None
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
