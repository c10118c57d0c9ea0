"""Reads that span several apps, for the pages that compose them (Customer 360, Today)."""

from __future__ import annotations

from django.db.models import BigIntegerField, CharField, DateField, F, Value
from django.db.models.functions import Cast, Concat, TruncDate
from django.http import Http404

from analytics.selectors import customer_ltv_get, customer_rfm_get, customer_segment_history
from crm.models import Tenant
from customers.models import Purchase, ServiceKind, ServiceRecord
from interactions.models import Channel, Deal, DealStage, Interaction
from reminders.models import Reminder, ReminderStatus

TIMELINE_LIMIT = 100
SEGMENT_HISTORY_SHOWN = 12


def customer_timeline(*, tenant: Tenant, customer_id: int, limit: int = TIMELINE_LIMIT) -> list[dict]:
    """Purchases, services, interactions, sent reminders and deals of one customer, newest first.

    One UNION ALL query, ordered and limited in the database, so the page costs the same however
    long the customer's history is.
    """

    def shape(qs, *, kind, when, title, amount, note, when_is_datetime=False):
        return qs.annotate(
            # A datetime becomes the shop's local date (TruncDate uses the active time zone).
            t_when=TruncDate(when) if when_is_datetime else Cast(when, DateField()),
            t_kind=Value(kind, output_field=CharField()),
            t_id=F("pk"),
            t_title=Cast(title, CharField()),
            t_amount=Cast(amount, BigIntegerField())
            if amount is not None
            else Value(None, BigIntegerField()),
            t_note=Cast(note, CharField()),
        ).values("t_when", "t_kind", "t_id", "t_title", "t_amount", "t_note")

    parts = [
        shape(
            Purchase.objects.for_tenant(tenant).filter(customer_id=customer_id),
            kind="purchase", when="date", title="category__name", amount="amount", note="description",
        ),
        shape(
            ServiceRecord.objects.for_tenant(tenant).filter(customer_id=customer_id),
            kind="service", when="date", title="kind", amount="amount", note="notes",
        ),
        shape(
            Interaction.objects.for_tenant(tenant).filter(customer_id=customer_id).order_by(),
            kind="interaction", when="occurred_at", when_is_datetime=True, title="channel", amount=None,
            note="summary",
        ),
        shape(
            Deal.objects.for_tenant(tenant).filter(customer_id=customer_id),
            kind="deal", when="created_at", when_is_datetime=True, title="title", amount="expected_amount",
            note="stage",
        ),
        shape(
            Reminder.objects.for_tenant(tenant).filter(
                customer_id=customer_id, status=ReminderStatus.SENT, sent_at__isnull=False
            ),
            kind="reminder", when="sent_at", when_is_datetime=True, title="rule__name", amount=None,
            note=Concat(Value(""), "reason"),
        ),
    ]  # fmt: skip
    union = parts[0].union(*parts[1:], all=True).order_by("-t_when", "-t_id")[:limit]
    service_labels = dict(ServiceKind.choices)
    channel_labels, stage_labels = dict(Channel.choices), dict(DealStage.choices)
    rows = []
    for r in union:
        row = {
            "when": r["t_when"], "kind": r["t_kind"], "id": r["t_id"], "title": r["t_title"],
            "amount": r["t_amount"], "note": r["t_note"],
        }  # fmt: skip
        if row["kind"] == "service":
            row["title"] = service_labels.get(row["title"], row["title"])
        elif row["kind"] == "interaction":
            row["title"] = channel_labels.get(row["title"], row["title"])
        elif row["kind"] == "deal":
            row["note"] = stage_labels.get(row["note"], row["note"])
        rows.append(row)
    return rows


def customer_insights(*, tenant: Tenant, customer_id: int) -> dict:
    """RFM segment, its recent history and predicted LTV of one customer; `rfm` None before scoring."""
    out: dict = {}
    try:
        out["rfm"] = customer_rfm_get(tenant=tenant, customer_id=customer_id)
        out["ltv"] = customer_ltv_get(tenant=tenant, customer_id=customer_id)
    except Http404:
        out["rfm"] = None
    out["segment_history"] = customer_segment_history(tenant=tenant, customer_id=customer_id)[
        -SEGMENT_HISTORY_SHOWN:
    ]
    return out
