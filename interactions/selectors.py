from django.shortcuts import get_object_or_404

from crm.models import Tenant, User
from interactions.models import OPEN_DEAL_STAGES, CallTask, CallTaskStatus, Deal, Interaction


def interaction_get(*, tenant: Tenant, pk: int) -> Interaction:
    return get_object_or_404(Interaction.objects.for_tenant(tenant), pk=pk)


def deal_get(*, tenant: Tenant, pk: int) -> Deal:
    return get_object_or_404(Deal.objects.for_tenant(tenant).select_related("customer", "owner"), pk=pk)


def call_task_get(*, tenant: Tenant, pk: int) -> CallTask:
    return get_object_or_404(CallTask.objects.for_tenant(tenant).select_related("customer"), pk=pk)


# --- a member's work (counted for crm.tenancy.handover, registered in apps.py) ---------------------
def open_deals_count(*, tenant: Tenant, user: User) -> int:
    """Deals `user` is still selling (not won or lost), in `tenant` only."""
    return Deal.objects.for_tenant(tenant).filter(owner=user, stage__in=OPEN_DEAL_STAGES).count()


def open_call_tasks_count(*, tenant: Tenant, user: User) -> int:
    """Calls still to be made by `user`, in `tenant` only."""
    return CallTask.objects.for_tenant(tenant).filter(assigned_to=user, status=CallTaskStatus.OPEN).count()
