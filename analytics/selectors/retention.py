"""Retention KPIs from the precomputed RetentionMonthly rows (analytics.retention defines them).

A rate is retained ÷ decided, where decided = eligible − still open: a 車検 due this month that has not
been done yet is neither a success nor a loss until its window closes.
"""

from __future__ import annotations

from datetime import date

from dateutil.relativedelta import relativedelta
from django.db.models import Max, Sum
from django.utils import timezone

from analytics.kpi import index_of, month_of
from analytics.models import RetentionDimension, RetentionKPI, RetentionMonthly, Segment
from crm.models import Tenant
from crm.tenancy.selectors import tenant_users
from customers.models import AcquisitionChannel

KPIS = [k.value for k in RetentionKPI]


def _figure(eligible: int, retained: int, pending: int) -> dict:
    decided = eligible - pending
    return {
        "eligible": eligible,
        "retained": retained,
        "pending": pending,
        "rate": retained / decided if decided > 0 else None,
    }


def _empty() -> dict:
    return _figure(0, 0, 0)


def retention_computed_at(*, tenant: Tenant):
    return RetentionMonthly.objects.for_tenant(tenant).aggregate(at=Max("computed_at"))["at"]


def retention_series(
    *, tenant: Tenant, months: int = 24, as_of: date | None = None, dimension: str = "all", key: str = ""
) -> list[dict]:
    """The last `months` months up to `as_of`, oldest first: per KPI eligible, retained, pending, rate."""
    as_of = as_of or timezone.localdate()
    start = as_of.replace(day=1) - relativedelta(months=months - 1)
    rows = (
        RetentionMonthly.objects.for_tenant(tenant)
        .filter(dimension=dimension, key=key, month__gte=start, month__lte=as_of)
        .values_list("kpi", "month", "eligible", "retained", "pending")
    )
    have = {(kpi, month): _figure(e, r, p) for kpi, month, e, r, p in rows}
    return [
        {"month": month_of(i), **{k: have.get((k, month_of(i)), _empty()) for k in KPIS}}
        for i in range(index_of(start), index_of(as_of) + 1)
    ]


def _labels(tenant: Tenant, dimension: str) -> dict[str, str]:
    if dimension == RetentionDimension.STAFF:
        return {str(u.pk): u.display_name or u.email for u in tenant_users(tenant=tenant)}
    if dimension == RetentionDimension.CHANNEL:
        return {c.value: str(c.label) for c in AcquisitionChannel}
    if dimension == RetentionDimension.SEGMENT:
        return {s.value: str(s.label) for s in Segment}
    return {"": ""}


def retention_by_group(
    *, tenant: Tenant, dimension: str, months: int = 12, as_of: date | None = None
) -> list[dict]:
    """Per group of `dimension` (staff, channel, segment): each KPI summed over the last `months` months."""
    as_of = as_of or timezone.localdate()
    start = as_of.replace(day=1) - relativedelta(months=months - 1)
    rows = (
        RetentionMonthly.objects.for_tenant(tenant)
        .filter(dimension=dimension, month__gte=start, month__lte=as_of)
        .values("key", "kpi")
        .annotate(e=Sum("eligible"), r=Sum("retained"), p=Sum("pending"))
    )
    labels = _labels(tenant, dimension)
    groups: dict[str, dict] = {}
    for row in rows:
        group = groups.setdefault(
            row["key"],
            {"key": row["key"], "label": labels.get(row["key"]) or "—", **{k: _empty() for k in KPIS}},
        )
        group[row["kpi"]] = _figure(row["e"], row["r"], row["p"])
    return sorted(groups.values(), key=lambda g: (-g[KPIS[0]]["eligible"], g["label"]))
