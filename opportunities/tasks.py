"""Celery tasks of the opportunities app: thin wrappers around `opportunities.services`."""

from celery import shared_task

from crm.models import Tenant
from crm.tenancy.rls import tenant_task
from opportunities.services import opportunities_refresh


@shared_task(name="opportunities.tasks.refresh_tenant", acks_late=True)
@tenant_task
def refresh_tenant(tenant_id: int) -> dict:
    """Refit (when due) and rescore one shop. Idempotent: every score table is replaced whole."""
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return {}
    return {key: str(value) for key, value in opportunities_refresh(tenant=tenant).items()}


@shared_task(name="opportunities.tasks.refresh_all_tenants")
def refresh_all_tenants() -> int:
    """Nightly beat task (after the analytics refresh): one refresh per shop."""
    tenant_ids = list(Tenant.objects.values_list("pk", flat=True))
    for tenant_id in tenant_ids:
        refresh_tenant.delay(tenant_id)
    return len(tenant_ids)
