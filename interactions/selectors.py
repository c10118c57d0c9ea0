from django.shortcuts import get_object_or_404

from crm.models import Tenant
from interactions.models import CallTask, Deal, Interaction


def interaction_get(*, tenant: Tenant, pk: int) -> Interaction:
    return get_object_or_404(Interaction.objects.for_tenant(tenant), pk=pk)


def deal_get(*, tenant: Tenant, pk: int) -> Deal:
    return get_object_or_404(Deal.objects.for_tenant(tenant).select_related("customer", "owner"), pk=pk)


def call_task_get(*, tenant: Tenant, pk: int) -> CallTask:
    return get_object_or_404(CallTask.objects.for_tenant(tenant).select_related("customer"), pk=pk)
