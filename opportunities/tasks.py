"""Celery tasks of the opportunities app: thin, idempotent wrappers around `opportunities.services`
(nightly refit-when-due and rescoring) and `opportunities.worklist` (the weekly list).

Both beat jobs fan out one task per shop, so one large shop does not hold up the rest. A rescoring
replaces every score table whole; a list refresh run twice replaces only the week's untouched entries
(acted-on and dismissed ones stay).
"""

from __future__ import annotations

from celery import shared_task

from crm.models import Tenant
from crm.tenancy.rls import tenant_task
from opportunities.services import opportunities_refresh
from opportunities.worklist import worklist_refresh


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


@shared_task(name="opportunities.tasks.refresh_tenant_worklist", acks_late=True)
@tenant_task
def refresh_tenant_worklist(tenant_id: int) -> int:
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return 0
    return worklist_refresh(tenant=tenant)


@shared_task(name="opportunities.tasks.refresh_all_worklists")
def refresh_all_worklists() -> int:
    """Monday morning (JST, after the night's scoring): this week's list for every shop."""
    tenant_ids = list(Tenant.objects.order_by("id").values_list("pk", flat=True))
    for tenant_id in tenant_ids:
        refresh_tenant_worklist.delay(tenant_id)
    return len(tenant_ids)
