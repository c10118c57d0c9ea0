"""Small template helpers of the dashboard: Bootstrap classes on form widgets, yen and nav state."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django import template
from django.utils import timezone
from django.utils.formats import date_format, number_format

register = template.Library()

_CHECK = {"checkbox", "radio"}
_SELECT = {"select", "selectmultiple"}


@register.filter
def ui(bound_field, extra: str = ""):
    """Render a bound field's widget with Bootstrap classes (errors also get is-invalid)."""
    widget_type = bound_field.widget_type
    if widget_type in _CHECK:
        css = "form-check-input"
    elif widget_type in _SELECT:
        css = "form-select"
    elif widget_type == "clearablefile" or widget_type == "file":
        css = "form-control"
    else:
        css = "form-control"
    if bound_field.errors:
        css += " is-invalid"
    if extra:
        css += " " + extra
    existing = bound_field.field.widget.attrs.get("class", "")
    attrs = {"class": f"{existing} {css}".strip()}
    # Screen readers announce the error and help text with the field (ids from components/field.html).
    described = []
    if bound_field.errors:
        attrs["aria-invalid"] = "true"
        described.append(f"{bound_field.auto_id}_error")
    if bound_field.help_text:
        described.append(f"{bound_field.auto_id}_helptext")
    if described and bound_field.auto_id:
        attrs["aria-describedby"] = " ".join(described)
    return bound_field.as_widget(attrs=attrs)


@register.filter
def yen(value):
    if value is None or value == "":
        return "—"
    return "¥" + number_format(round(value), force_grouping=True)


@register.filter
def pct(value):
    if value is None:
        return "—"
    sign = "+" if value > 0 else ""
    return f"{sign}{value}%"


@register.simple_tag(takes_context=True)
def nav_active(context, *prefixes: str) -> str:
    """' active" aria-current="page' when the current view name starts with one of the prefixes."""
    match = getattr(context.get("request"), "resolver_match", None)
    name = match.view_name if match else ""
    return "active" if any(name == p or name.startswith(p) for p in prefixes) else ""


@register.filter
def absval(value):
    return abs(value) if value is not None else value


@register.filter
def table_cell(value):
    """A table cell: numbers with digit grouping, dates and times in the locale's format, text as is.

    Humanize's `intcomma` groups the leading digits of any string, so a date would become "2,026-11-24".
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return number_format(value, force_grouping=True)
    if isinstance(value, datetime):
        local = timezone.localtime(value) if timezone.is_aware(value) else value
        return date_format(local, "DATETIME_FORMAT")
    if isinstance(value, date):
        return date_format(value, "DATE_FORMAT")
    return value
