"""Celery tasks of results: thin wrappers around `results.services`."""

from celery import shared_task

from crm.models import Tenant
from crm.tenancy.rls import tenant_task
from results.services import results_refresh


@shared_task(name="results.tasks.refresh_tenant", acks_late=True)
@tenant_task
def refresh_tenant(tenant_id: int) -> dict:
    """Rebuild one tenant's funnel and uplift rows (idempotent: the tables are rebuilt)."""
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return {}
    return results_refresh(tenant=tenant)


@shared_task(name="results.tasks.refresh_all_tenants")
def refresh_all_tenants() -> int:
    """Nightly beat task: one refresh per tenant, after the analytics refresh."""
    tenant_ids = list(Tenant.objects.values_list("pk", flat=True))
    for tenant_id in tenant_ids:
        refresh_tenant.delay(tenant_id)
    return len(tenant_ids)
