"""Reads of the weekly list: what a member may see, one entry (404 across shops and across members),
the reason in the reader's language, and the list's hit rate."""

from __future__ import annotations

from datetime import date

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.shortcuts import get_object_or_404

from crm.models import Membership, Tenant, User
from crm.tenancy.roles import Role
from customers.models import Purchase
from interactions.models import Deal, DealStage
from opportunities.models import ActionKind, EntryKind, EntryStatus, WorklistEntry
from opportunities.reasons import leaving_reason, replacement_reason

# The staff filter's value for the customers nobody is assigned to.
UNASSIGNED = "none"
SHOWN_STATUSES = (EntryStatus.OPEN, EntryStatus.ACTED)


def may_see_all(membership: Membership | None) -> bool:
    """Managers and owners see every member's list and the unassigned bucket; others their own."""
    return membership is None or membership.has_role(Role.MANAGER)


def worklist_entries(
    *,
    tenant: Tenant,
    week: date,
    user: User | None,
    membership: Membership | None,
    kind: str | None = None,
    staff: str | None = None,
    own_only: bool = False,
) -> QuerySet[WorklistEntry]:
    """The week's shown entries (not dismissed) a member may see, by staff member then rank.

    `membership` None means an integration key (shop-wide, like a manager). `staff` (managers only):
    a user id, or UNASSIGNED. `own_only`: the member's own entries whatever their role (Today).
    """
    rows = WorklistEntry.objects.for_tenant(tenant).filter(week=week, status__in=SHOWN_STATUSES)
    if own_only or not may_see_all(membership):
        rows = rows.filter(staff=user)
    elif staff == UNASSIGNED:
        rows = rows.filter(staff__isnull=True)
    elif staff and staff.isdigit():
        rows = rows.filter(staff_id=int(staff))
    if kind in EntryKind.values:
        rows = rows.filter(kind=kind)
    return rows.select_related("customer", "vehicle", "staff").prefetch_related("actions")


def worklist_entry_get(
    *, tenant: Tenant, pk: int, user: User | None, membership: Membership | None
) -> WorklistEntry:
    """One entry of the shop that the member may see (their own, or any for managers); else 404."""
    rows = WorklistEntry.objects.for_tenant(tenant)
    if not may_see_all(membership):
        rows = rows.filter(staff=user)
    return get_object_or_404(rows.select_related("customer", "vehicle", "staff"), pk=pk)


def entry_reason(entry: WorklistEntry, *, language: str) -> str:
    """Why the customer is on the list, in plain words in `language` (opportunities.reasons)."""
    # The entry's probability goes with the facts (the score's own facts win when they carry it).
    facts = {"probability": entry.probability, **(entry.facts or {})}
    if entry.kind == EntryKind.REPLACEMENT:
        return replacement_reason(facts, language=language)
    return leaving_reason(facts, language=language)


def done_actions(entry: WorklistEntry) -> set[str]:
    """The actions already taken from an entry (each one at most once)."""
    return {a.action for a in entry.actions.all()}


def worklist_hit_rate(*, tenant: Tenant, staff: User | None = None) -> dict:
    """Of the entries acted on (a call task, deal or message; dismissals are not), how many led to a
    won deal or a purchase between the first action and six months later. One aggregate query.

    Entries whose six months are not over yet count with what happened so far.
    """
    acted = WorklistEntry.objects.for_tenant(tenant).filter(acted_at__isnull=False)
    if staff is not None:
        acted = acted.filter(staff=staff)
    won = Deal.objects.for_tenant(tenant).filter(
        customer_id=OuterRef("customer_id"),
        stage=DealStage.WON,
        closed_at__gte=OuterRef("acted_at"),
        closed_at__date__lte=OuterRef("hit_until"),
    )
    bought = Purchase.objects.for_tenant(tenant).filter(
        customer_id=OuterRef("customer_id"),
        is_refund=False,
        date__gte=OuterRef("acted_at__date"),
        date__lte=OuterRef("hit_until"),
    )
    totals = acted.aggregate(acted=Count("id"), hits=Count("id", filter=Q(Exists(won)) | Q(Exists(bought))))
    rate = round(totals["hits"] / totals["acted"] * 100, 1) if totals["acted"] else None
    return {"acted": totals["acted"], "hits": totals["hits"], "rate": rate}


ACTIONS_TAKEN = (ActionKind.CALL_TASK, ActionKind.DEAL, ActionKind.MESSAGE)
