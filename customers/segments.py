"""Customer segments as the customer record sees them: a plug-in point the analytics app fills.

Segments (RFM: champions, at risk, …) are computed by analytics, but the customer list, the customers
API and reminder audiences filter by them, and those sit below analytics in the layers (see
docs/architecture.md). So the app that computes segments registers a `SegmentSource` here when Django
starts (`analytics.apps.AnalyticsConfig.ready`), and the record asks for it. With none registered there
are no segments: the filters offer none and a rule that names a segment matches nobody (fail closed
rather than writing to every customer).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.models import QuerySet

from crm.models import Tenant
from customers.models import Customer


@dataclass(frozen=True)
class SegmentSource:
    """Who computes segments, and how to read them.

    choices: (code, label) of every segment, in display order.
    members: the tenant's customers currently in a segment (none for an unknown code); keyword-only
        `tenant` and `segment`.
    model: one row per scored customer with a `customer` foreign key and its current `segment` code, for
        set-based SQL that joins it (the reminder planner).
    """

    choices: Callable[[], list[tuple[str, str]]]
    members: Callable[..., QuerySet[Customer]]
    model: type[models.Model]


_source: SegmentSource | None = None


def register_segment_source(source: SegmentSource) -> None:
    """Called once, from the AppConfig.ready() of the app that computes segments."""
    global _source
    if _source is not None and _source != source:
        raise ImproperlyConfigured("A segment source is registered already; there is one per project.")
    _source = source


def segment_source() -> SegmentSource | None:
    return _source


def segment_choices() -> list[tuple[str, str]]:
    """Every segment (code, label); empty when no app computes segments."""
    return list(_source.choices()) if _source else []


def customers_in_segment(*, tenant: Tenant, segment: str) -> QuerySet[Customer]:
    """The tenant's customers in `segment`; none when the code is unknown or nothing computes segments."""
    if _source is None:
        return Customer.objects.for_tenant(tenant).none()
    return _source.members(tenant=tenant, segment=segment)
