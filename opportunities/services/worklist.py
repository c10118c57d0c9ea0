"""Write use-cases of the weekly list: the one-click actions (call task, deal, message, dismiss) and
the shop's list settings. Each action is logged (WorklistAction: who, when, what, the object made),
taken at most once per entry, and goes through the owning app's service."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from dateutil.relativedelta import relativedelta
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from crm.common.errors import ApplicationError
from crm.models import Tenant, User
from interactions.models import CallTask, Deal, DealStage
from interactions.services import call_task_create, deal_create
from opportunities.models import (
    ActionKind,
    DismissReason,
    EntryKind,
    EntryStatus,
    WorklistAction,
    WorklistEntry,
    WorklistSettings,
)
from opportunities.selectors import entry_reason
from opportunities.worklist import shop_today
from reminders.models import Reminder, ReminderTemplate
from reminders.personal import personal_message_queue

CALL_DUE_DAYS = 2  # a call task from the list is due soon, not today
DEAL_CLOSE_DAYS = 90
HIT_MONTHS = 6  # a won deal or a purchase this long after the first action counts for the hit rate
SETTINGS_FIELDS = ["per_staff", "dismiss_days", "message_template"]


class ActionRefused(ApplicationError):
    """The entry was dismissed, or this action was already taken from it."""


def _language() -> str:
    return (translation.get_language() or "ja").split("-")[0]


def _lock(tenant: Tenant, entry: WorklistEntry) -> WorklistEntry:
    if entry.tenant_id != tenant.pk:
        raise ApplicationError(_("Entry not found."))
    locked = (
        WorklistEntry.objects.for_tenant(tenant)
        .select_for_update(of=("self",))  # PostgreSQL locks no nullable side of the joins
        .select_related("customer", "vehicle", "staff")
        .get(pk=entry.pk)
    )
    if locked.status == EntryStatus.DISMISSED:
        raise ActionRefused(_("This entry was dismissed."))
    return locked


def _log(
    *, tenant: Tenant, entry: WorklistEntry, action: str, by: User | None, object_id: int | None, **extra
) -> WorklistAction:
    """Record the action and move the entry (acted on, or dismissed); a second one of a kind is refused."""
    now = timezone.now()
    record = WorklistAction(tenant=tenant, entry=entry, action=action, by=by, object_id=object_id, **extra)
    record.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            record.save()
    except IntegrityError as exc:
        raise ActionRefused(_("This was already done from this entry.")) from exc
    if action == ActionKind.DISMISS:
        entry.status, entry.dismissed_at = EntryStatus.DISMISSED, now
    else:
        entry.status = EntryStatus.ACTED
        if entry.acted_at is None:
            entry.acted_at = now
            entry.hit_until = shop_today(tenant, now) + relativedelta(months=HIT_MONTHS)
    entry.save(update_fields=["status", "dismissed_at", "acted_at", "hit_until", "updated_at"])
    return record


def _taken(tenant: Tenant, entry: WorklistEntry, action: str) -> bool:
    return WorklistAction.objects.for_tenant(tenant).filter(entry=entry, action=action).exists()


@transaction.atomic
def worklist_entry_call_task(*, tenant: Tenant, entry: WorklistEntry, by: User | None) -> CallTask:
    """A call task for the entry's staff member (else the one clicking), due soon, with the reason."""
    entry = _lock(tenant, entry)
    if _taken(tenant, entry, ActionKind.CALL_TASK):
        raise ActionRefused(_("This was already done from this entry."))
    task = call_task_create(
        tenant=tenant,
        customer=entry.customer,
        assigned_to=entry.staff or by,
        due_date=shop_today(tenant) + timedelta(days=CALL_DUE_DAYS),
        reason=entry_reason(entry, language=_language())[:200],
    )
    _log(tenant=tenant, entry=entry, action=ActionKind.CALL_TASK, by=by, object_id=task.pk)
    return task


@transaction.atomic
def worklist_entry_deal(*, tenant: Tenant, entry: WorklistEntry, by: User | None) -> Deal:
    """A deal at stage 'proposal' for the customer (and the vehicle to replace), worth the margin."""
    entry = _lock(tenant, entry)
    if _taken(tenant, entry, ActionKind.DEAL):
        raise ActionRefused(_("This was already done from this entry."))
    if entry.kind == EntryKind.REPLACEMENT and entry.vehicle is not None:
        v = entry.vehicle
        title = _("Replacement proposal: %(vehicle)s") % {"vehicle": f"{v.maker} {v.model_name}".strip()}
    else:
        title = _("Proposal to win back: %(name)s") % {"name": entry.customer.full_name}
    deal = deal_create(
        tenant=tenant,
        customer=entry.customer,
        vehicle=entry.vehicle,
        title=title[:200],
        stage=DealStage.PROPOSAL,
        expected_amount=max(entry.expected_margin, 0),
        expected_close=shop_today(tenant) + timedelta(days=DEAL_CLOSE_DAYS),
        owner=entry.staff or by,
    )
    _log(tenant=tenant, entry=entry, action=ActionKind.DEAL, by=by, object_id=deal.pk)
    return deal


@transaction.atomic
def worklist_entry_message(
    *, tenant: Tenant, entry: WorklistEntry, by: User | None, template: ReminderTemplate | None = None
) -> Reminder:
    """A one-off message on the customer's channel (reminders.personal: consent checked, never twice),
    with the shop's chosen template."""
    entry = _lock(tenant, entry)
    if _taken(tenant, entry, ActionKind.MESSAGE):
        raise ActionRefused(_("This was already done from this entry."))
    if template is None:
        settings_row = WorklistSettings.objects.for_tenant(tenant).select_related("message_template").first()
        template = settings_row.message_template if settings_row else None
    reminder = personal_message_queue(
        tenant=tenant,
        customer=entry.customer,
        vehicle=entry.vehicle,
        occasion_date=entry.week,
        template=template,
    )
    _log(tenant=tenant, entry=entry, action=ActionKind.MESSAGE, by=by, object_id=reminder.pk)
    return reminder


@transaction.atomic
def worklist_entry_dismiss(
    *, tenant: Tenant, entry: WorklistEntry, by: User | None, reason: str, note: str = ""
) -> WorklistEntry:
    """Take the entry off the list; the customer stays off it (for this kind) for the shop's period."""
    if reason not in DismissReason.values:
        raise ApplicationError(_("Choose why you dismiss this entry."))
    if reason == DismissReason.OTHER and not note.strip():
        raise ApplicationError(_("Say why in a few words."))
    entry = _lock(tenant, entry)
    _log(
        tenant=tenant,
        entry=entry,
        action=ActionKind.DISMISS,
        by=by,
        object_id=None,
        dismiss_reason=reason,
        note=note.strip()[:300],
    )
    return entry


@transaction.atomic
def worklist_settings_update(*, tenant: Tenant, data: dict[str, Any]) -> WorklistSettings:
    """Create or change the shop's list settings (validated; a template of another shop is refused)."""
    row = WorklistSettings.objects.for_tenant(tenant).select_for_update().first() or WorklistSettings(
        tenant=tenant
    )
    for field in SETTINGS_FIELDS:
        if field in data:
            setattr(row, field, data[field])
    template = row.message_template
    if template is not None and template.tenant_id != tenant.pk:
        raise ApplicationError(_("Template not found."))
    row.full_clean(validate_constraints=False)
    row.save()
    return row
