"""Every write of results: rebuilding the precomputed funnel and uplift rows of one tenant."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone

from analytics.kpi import month_of
from analytics.sql import tune_refresh_transaction
from crm.models import Tenant
from results.funnel import funnel_rows, uplift_rows
from results.models import FunnelMonthly, UpliftMonthly

BATCH_SIZE = 2000


@transaction.atomic
def results_refresh(*, tenant: Tenant, as_of: date | None = None) -> dict[str, int]:
    """Recompute the tenant's reminder funnel and treated / held-out rows up to `as_of` (default today).

    Two aggregate queries (results.funnel); their rows replace the previous ones in one transaction,
    so the Results page shows the old or the new figures, never a mix. Idempotent.
    """
    as_of = as_of or timezone.localdate()
    tune_refresh_transaction()
    now = timezone.now()
    funnel = funnel_rows(tenant_id=tenant.pk, as_of=as_of)
    uplift = uplift_rows(tenant_id=tenant.pk, as_of=as_of)
    FunnelMonthly.objects.for_tenant(tenant).delete()
    UpliftMonthly.objects.for_tenant(tenant).delete()
    FunnelMonthly.objects.bulk_create(
        [
            FunnelMonthly(tenant=tenant, computed_at=now, month=month_of(row.pop("mi")), **row)
            for row in funnel
        ],
        batch_size=BATCH_SIZE,
    )
    UpliftMonthly.objects.bulk_create(
        [
            UpliftMonthly(tenant=tenant, computed_at=now, month=month_of(row.pop("mi")), **row)
            for row in uplift
        ],
        batch_size=BATCH_SIZE,
    )
    return {"funnel_rows": len(funnel), "uplift_rows": len(uplift)}
