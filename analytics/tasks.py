"""Celery tasks of the analytics app: thin wrappers around `analytics.services`."""

from celery import shared_task

from analytics.services import analytics_refresh_tenant
from crm.models import Tenant
from crm.tenancy.rls import tenant_task


@shared_task(name="analytics.tasks.refresh_tenant", acks_late=True)
@tenant_task
def refresh_tenant(tenant_id: int) -> dict:
    """Refresh one tenant's analytics (idempotent: every table is rebuilt, so running twice is harmless)."""
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return {}
    result = analytics_refresh_tenant(tenant=tenant)
    return {key: str(value) for key, value in result.items()}


@shared_task(name="analytics.tasks.refresh_all_tenants")
def refresh_all_tenants() -> int:
    """Nightly beat task: fan out one refresh per tenant, so one slow tenant does not block the rest."""
    tenant_ids = list(Tenant.objects.values_list("pk", flat=True))
    for tenant_id in tenant_ids:
        refresh_tenant.delay(tenant_id)
    return len(tenant_ids)
