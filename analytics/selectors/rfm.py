"""RFM scores and segments: who is in which segment, the recency × frequency grid, and how customers
moved between monthly segment snapshots."""

from __future__ import annotations

from datetime import date

from django.db.models import Avg, Count, QuerySet, Sum
from django.http import Http404

from analytics.models import SCORED_SEGMENTS, CustomerRFM, Segment, SegmentSnapshot
from analytics.services import analytics_settings_get
from crm.models import Tenant
from customers.models import Customer

SEGMENT_CODES = [s.value for s in SCORED_SEGMENTS]


def _segment_label(code: str) -> str:
    return str(Segment(code).label) if code in Segment.values else code


def customers_in_segment(*, tenant: Tenant, segment: str) -> QuerySet[Customer]:
    """The tenant's customers whose latest RFM segment is `segment` (empty for an unknown segment)."""
    customers = Customer.objects.for_tenant(tenant)
    if segment not in Segment.values:
        return customers.none()
    return customers.filter(rfm__segment=segment, rfm__tenant=tenant)


def customer_rfm_get(*, tenant: Tenant, customer_id: int) -> CustomerRFM:
    """One customer's RFM row; 404 if the customer is not the tenant's or was never scored."""
    row = CustomerRFM.objects.for_tenant(tenant).filter(customer_id=customer_id).first()
    if row is None:
        raise Http404
    return row


def rfm_rows(*, tenant: Tenant, segment: str | None = None) -> QuerySet[CustomerRFM]:
    """RFM rows with the customer loaded, optionally of one segment (for lists, API and CSV export)."""
    rows = CustomerRFM.objects.for_tenant(tenant).select_related("customer").order_by("customer_id")
    return rows.filter(segment=segment) if segment else rows


def rfm_computed_at(*, tenant: Tenant):
    return (
        CustomerRFM.objects.for_tenant(tenant)
        .order_by("-computed_at")
        .values_list("computed_at", flat=True)
        .first()
    )


def segment_summary(*, tenant: Tenant) -> list[dict]:
    """Per segment (display order, every segment listed): customers, share, revenue and averages."""
    stats = {
        row["segment"]: row
        for row in CustomerRFM.objects.for_tenant(tenant)
        .values("segment")
        .annotate(
            customers=Count("id"),
            total_monetary=Sum("monetary"),
            avg_recency=Avg("recency_days"),
            avg_frequency=Avg("frequency"),
            avg_monetary=Avg("monetary"),
        )
        .order_by()
    }
    total = sum(r["customers"] for r in stats.values())
    result = []
    for seg in Segment:
        row = stats.get(seg.value, {})
        n = row.get("customers", 0)
        result.append(
            {
                "segment": seg.value,
                "label": str(seg.label),
                "customers": n,
                "share": n / total if total else 0.0,
                "monetary": int(row.get("total_monetary") or 0),
                "avg_recency_days": row.get("avg_recency"),
                "avg_frequency": row.get("avg_frequency"),
                "avg_monetary": row.get("avg_monetary"),
            }
        )
    return result


def rfm_grid(*, tenant: Tenant) -> list[dict]:
    """All 25 recency × frequency cells with customer count, revenue and the mapped segment."""
    counts = {
        (row["r_score"], row["f_score"]): row
        for row in CustomerRFM.objects.for_tenant(tenant)
        .filter(r_score__isnull=False)
        .values("r_score", "f_score")
        .annotate(customers=Count("id"), total_monetary=Sum("monetary"))
        .order_by()
    }
    seg_map = analytics_settings_get(tenant=tenant).segment_map
    cells = []
    for r in range(5, 0, -1):
        for f in range(1, 6):
            row = counts.get((r, f), {})
            code = seg_map.get(f"{r}{f}", "")
            cells.append(
                {
                    "r": r,
                    "f": f,
                    "customers": row.get("customers", 0),
                    "monetary": int(row.get("total_monetary") or 0),
                    "segment": code,
                    "label": _segment_label(code),
                }
            )
    return cells


def snapshot_months(*, tenant: Tenant) -> list[date]:
    """Months that have a segment snapshot, newest first."""
    return list(
        SegmentSnapshot.objects.for_tenant(tenant)
        .values_list("month", flat=True)
        .distinct()
        .order_by("-month")
    )


def migration_matrix(*, tenant: Tenant, from_month: date, to_month: date) -> dict:
    """How many customers moved from segment X (snapshot of `from_month`) to Y (of `to_month`).

    Customers present in only one of the two snapshots appear with X or Y = None (new / deleted).
    """
    snaps = SegmentSnapshot.objects.for_tenant(tenant)
    before = snaps.filter(month=from_month.replace(day=1))
    after = snaps.filter(month=to_month.replace(day=1))
    before_map = dict(before.values_list("customer_id", "segment"))
    after_rows = after.values_list("customer_id", "segment")
    # Two queries, then a count per pair: the snapshot rows are already one per customer.
    pairs: dict[tuple, int] = {}
    seen = set()
    for customer_id, seg in after_rows.iterator():
        key = (before_map.get(customer_id), seg)
        pairs[key] = pairs.get(key, 0) + 1
        seen.add(customer_id)
    for customer_id, seg in before_map.items():
        if customer_id not in seen:
            pairs[(seg, None)] = pairs.get((seg, None), 0) + 1
    order = [s.value for s in Segment]
    return {
        "from_month": from_month.replace(day=1),
        "to_month": to_month.replace(day=1),
        "segments": [{"segment": s.value, "label": str(s.label)} for s in Segment],
        "cells": [
            {"from": a, "to": b, "customers": n}
            for (a, b), n in sorted(
                pairs.items(),
                key=lambda kv: (
                    order.index(kv[0][0]) if kv[0][0] else -1,
                    order.index(kv[0][1]) if kv[0][1] else -1,
                ),
            )
        ],
    }


def customer_segment_history(*, tenant: Tenant, customer_id: int) -> list[dict]:
    """A customer's segment per snapshot month, oldest first; 404 for another tenant's customer."""
    if not Customer.objects.for_tenant(tenant).filter(pk=customer_id).exists():
        raise Http404
    return [
        {"month": month, "segment": seg, "label": _segment_label(seg)}
        for month, seg in SegmentSnapshot.objects.for_tenant(tenant)
        .filter(customer_id=customer_id)
        .order_by("month")
        .values_list("month", "segment")
    ]
