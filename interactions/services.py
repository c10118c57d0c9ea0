"""Write use-cases for interactions, deals and call tasks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.common.errors import ApplicationError
from crm.common.services import model_update
from crm.models import Tenant, User
from interactions.models import OPEN_DEAL_STAGES, CallTask, CallTaskStatus, Deal, DealStage, Interaction

DEAL_FIELDS = [
    "customer",
    "vehicle",
    "title",
    "stage",
    "expected_amount",
    "expected_close",
    "owner",
    "lost_reason",
]
INTERACTION_FIELDS = [
    "customer",
    "staff",
    "channel",
    "direction",
    "occurred_at",
    "topic",
    "summary",
    "satisfaction",
    "follow_up_needed",
]


@transaction.atomic
def interaction_create(*, tenant: Tenant, **fields: Any) -> Interaction:
    fields.setdefault("occurred_at", timezone.now())
    interaction = Interaction(tenant=tenant, **fields)
    interaction.full_clean()
    interaction.save()
    return interaction


@transaction.atomic
def interaction_update(*, tenant: Tenant, interaction: Interaction, data: dict[str, Any]) -> Interaction:
    if interaction.tenant_id != tenant.pk:
        raise ApplicationError(_("Interaction not found."))
    interaction, _changed = model_update(instance=interaction, fields=INTERACTION_FIELDS, data=data)
    return interaction


@transaction.atomic
def deal_create(*, tenant: Tenant, **fields: Any) -> Deal:
    deal = Deal(tenant=tenant, **fields)
    if deal.stage in (DealStage.WON, DealStage.LOST):
        deal.closed_at = timezone.now()
    deal.full_clean()
    deal.save()
    return deal


@transaction.atomic
def deal_update(*, tenant: Tenant, deal: Deal, data: dict[str, Any]) -> Deal:
    """Update a deal; moving it to won or lost stamps the close time (and lost needs a reason)."""
    if deal.tenant_id != tenant.pk:
        raise ApplicationError(_("Deal not found."))
    closing = data.get("stage") in (DealStage.WON, DealStage.LOST) and deal.stage != data.get("stage")
    reopening = "stage" in data and data["stage"] not in (DealStage.WON, DealStage.LOST)
    if closing:
        data = {**data, "closed_at": timezone.now()}
    elif reopening:
        data = {**data, "closed_at": None}
    deal, _changed = model_update(instance=deal, fields=[*DEAL_FIELDS, "closed_at"], data=data)
    return deal


def deal_move(*, tenant: Tenant, deal: Deal, stage: str, lost_reason: str = "") -> Deal:
    data: dict[str, Any] = {"stage": stage}
    if stage == DealStage.LOST:
        data["lost_reason"] = lost_reason
    return deal_update(tenant=tenant, deal=deal, data=data)


@transaction.atomic
def call_task_create(*, tenant: Tenant, **fields: Any) -> CallTask:
    task = CallTask(tenant=tenant, **fields)
    task.full_clean()
    task.save()
    return task


@transaction.atomic
def call_task_complete(
    *, tenant: Tenant, task: CallTask, by: User | None = None, summary: str = ""
) -> CallTask:
    """Close a call task; a summary, when given, is logged on the customer's timeline as a phone call."""
    if task.tenant_id != tenant.pk:
        raise ApplicationError(_("Task not found."))
    task.status = CallTaskStatus.DONE
    task.done_at = timezone.now()
    task.save(update_fields=["status", "done_at", "updated_at"])
    if summary:
        interaction_create(
            tenant=tenant,
            customer=task.customer,
            staff=by,
            channel="phone",
            direction="outbound",
            summary=summary,
        )
    return task


# --- a member's work, handed to another (crm.tenancy.handover calls these; registered in apps.py) ---
def open_deals_reassign(*, tenant: Tenant, from_user: User, to_user: User, now: datetime) -> int:
    """Give every open deal of `from_user` to `to_user`; won and lost deals keep who sold them."""
    return (
        Deal.objects.for_tenant(tenant)
        .filter(owner=from_user, stage__in=OPEN_DEAL_STAGES)
        .update(owner=to_user, updated_at=now)
    )


def open_call_tasks_reassign(*, tenant: Tenant, from_user: User, to_user: User, now: datetime) -> int:
    """Give every open call task of `from_user` to `to_user`; done calls keep who made them."""
    return (
        CallTask.objects.for_tenant(tenant)
        .filter(assigned_to=from_user, status=CallTaskStatus.OPEN)
        .update(assigned_to=to_user, updated_at=now)
    )
