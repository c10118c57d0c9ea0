# ruff: noqa: S608 -- SQL is assembled from constants and enum values only; every input is a bound parameter.
"""Audience of seasonal rules by analytics segment.

The analytics app owns the per-customer segment table; this module only reads it. When that table
does not exist, a rule that names a segment matches nobody (it fails closed rather than e-mailing
everyone), and rules without a segment are unaffected.
"""

from __future__ import annotations

from django.apps import apps

NO_SEGMENT = "(r.audience_segment IS NULL OR r.audience_segment = '')"


def _segment_table() -> tuple[str, str, str] | None:
    """(table, customer column, segment-code column) of analytics' per-customer segment model, if any."""
    try:
        config = apps.get_app_config("analytics")
    except LookupError:
        return None
    for model in config.get_models():
        fields = {f.name: f for f in model._meta.concrete_fields}
        customer = fields.get("customer")
        segment = fields.get("segment") or fields.get("segment_code") or fields.get("rfm_segment")
        if customer is not None and segment is not None and "tenant" in fields:
            if getattr(segment, "related_model", None) is not None:
                continue  # a foreign key to a segment table: not a plain code column
            return model._meta.db_table, customer.column, segment.column
    return None


def segment_sql() -> str:
    table = _segment_table()
    if table is None:
        return NO_SEGMENT
    name, customer_col, segment_col = table
    return (
        f"({NO_SEGMENT} OR EXISTS (SELECT 1 FROM {name} seg WHERE seg.tenant_id = c.tenant_id "
        f"AND seg.{customer_col} = c.id AND seg.{segment_col} = r.audience_segment))"
    )
