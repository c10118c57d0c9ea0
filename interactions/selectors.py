from datetime import date, datetime

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from crm.models import Tenant, User
from interactions.models import OPEN_DEAL_STAGES, CallTask, CallTaskStatus, Deal, Interaction


def interaction_get(*, tenant: Tenant, pk: int) -> Interaction:
    return get_object_or_404(Interaction.objects.for_tenant(tenant), pk=pk)


def deal_get(*, tenant: Tenant, pk: int) -> Deal:
    return get_object_or_404(Deal.objects.for_tenant(tenant).select_related("customer", "owner"), pk=pk)


def call_task_get(*, tenant: Tenant, pk: int) -> CallTask:
    return get_object_or_404(CallTask.objects.for_tenant(tenant).select_related("customer"), pk=pk)


def call_tasks_open_for(*, tenant: Tenant, user: User, due_by: date) -> QuerySet[CallTask]:
    """A member's open calls due by `due_by`, oldest due first."""
    return (
        CallTask.objects.for_tenant(tenant)
        .filter(assigned_to=user, status=CallTaskStatus.OPEN, due_date__lte=due_by)
        .select_related("customer")
        .order_by("due_date", "pk")
    )


def interactions_awaiting_follow_up(*, tenant: Tenant, user: User, since: datetime) -> QuerySet[Interaction]:
    """A member's interactions since `since` that they marked as needing a follow-up, newest first."""
    return (
        Interaction.objects.for_tenant(tenant)
        .filter(staff=user, follow_up_needed=True, occurred_at__gte=since)
        .select_related("customer")
        .order_by("-occurred_at", "-pk")
    )


def deals_closing(*, tenant: Tenant, by: date) -> QuerySet[Deal]:
    """Open deals expected to close by `by`, soonest first."""
    return (
        Deal.objects.for_tenant(tenant)
        .filter(stage__in=OPEN_DEAL_STAGES, expected_close__lte=by)
        .prefetch_related("customer", "owner")  # two small queries, not a hash join over all customers
        .order_by("expected_close", "pk")
    )


# --- a member's work (counted for crm.tenancy.handover, registered in apps.py) ---------------------
def open_deals_count(*, tenant: Tenant, user: User) -> int:
    """Deals `user` is still selling (not won or lost), in `tenant` only."""
    return Deal.objects.for_tenant(tenant).filter(owner=user, stage__in=OPEN_DEAL_STAGES).count()


def open_call_tasks_count(*, tenant: Tenant, user: User) -> int:
    """Calls still to be made by `user`, in `tenant` only."""
    return CallTask.objects.for_tenant(tenant).filter(assigned_to=user, status=CallTaskStatus.OPEN).count()
