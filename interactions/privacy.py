"""Interactions' share of a customer's personal data (APPI): the disclosure's sections and the erasure.

Registered with `customers.privacy` by `InteractionsConfig.ready()`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crm.models import Tenant
from customers.models import Customer
from customers.privacy import ERASED_TEXT, PersonalDataPart, personal_rows
from interactions.models import CallTask, CallTaskStatus, Deal, Interaction


def export(*, tenant: Tenant, customer: Customer) -> dict[str, Any]:
    scoped = {"customer": customer}
    return {
        "interactions": personal_rows(
            Interaction.objects.for_tenant(tenant).filter(**scoped).order_by("occurred_at", "pk"),
            ["id", "occurred_at", "channel", "direction", "topic", "summary", "satisfaction"],
        ),
        "deals": personal_rows(
            Deal.objects.for_tenant(tenant).filter(**scoped).order_by("created_at", "pk"),
            ["id", "title", "stage", "expected_amount", "expected_close", "created_at", "closed_at"],
        ),
        "call_tasks": personal_rows(
            CallTask.objects.for_tenant(tenant).filter(**scoped).order_by("due_date", "pk"),
            ["id", "due_date", "reason", "status"],
        ),
    }


def erase(*, tenant: Tenant, customer: Customer, now: datetime) -> dict[str, int]:
    """Interaction summaries, deal titles and call reasons are free text that may identify the person;
    open calls are cancelled (nobody should phone an erased customer)."""
    scoped = {"customer_id": customer.pk}
    interactions = (
        Interaction.objects.for_tenant(tenant).filter(**scoped).update(summary=ERASED_TEXT, updated_at=now)
    )
    Deal.objects.for_tenant(tenant).filter(**scoped).update(title=ERASED_TEXT, lost_reason="", updated_at=now)
    CallTask.objects.for_tenant(tenant).filter(**scoped, status=CallTaskStatus.OPEN).update(
        status=CallTaskStatus.CANCELLED, updated_at=now
    )
    CallTask.objects.for_tenant(tenant).filter(**scoped).update(reason=ERASED_TEXT, updated_at=now)
    return {"interactions_cleared": interactions}


PERSONAL_DATA = PersonalDataPart(export=export, erase=erase)
