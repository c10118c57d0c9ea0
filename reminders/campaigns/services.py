# ruff: noqa: S608 -- the SQL joins constants and the ORM's own compiled audience query; inputs are bound.
"""Write use-cases of campaigns: draft, edit, submit, approve, cancel, launch; the shop's settings.

Lifecycle: draft → (submit) → scheduled, or awaiting approval when the audience is larger than the
shop's threshold → (an owner or manager approves) → scheduled → (the beat task at `scheduled_for`)
launched. Draft, awaiting and scheduled campaigns can be edited (an edit makes it a draft again and
drops any approval) or cancelled. A launch that finds an approved audience grown by more than
REAPPROVAL_GROWTH since the approval sends the campaign back for approval instead of sending.

The launch writes the campaign's reminders with one INSERT … SELECT over the audience query:
hidden rule, step 1, occasion = the scheduled date, due today. The Reminder unique constraint makes
a second launch (two beat runs, a retry) write nothing: every customer gets the campaign once.
Customers in the holdout get `held_out` rows by the same hash as rules (reminders.holdout).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.common.errors import ApplicationError
from crm.models import Membership, Tenant, User
from crm.tenancy.rls import tenant_context
from crm.tenancy.roles import APPROVE_CAMPAIGNS
from reminders.campaigns.audience import audience_clean, audience_customers
from reminders.holdout import holdout_status_sql
from reminders.models import (
    Campaign,
    CampaignSettings,
    CampaignStatus,
    ReminderRule,
    ReminderStatus,
    ReminderTemplate,
    RuleKind,
)
from reminders.services import reminder_rule_create

# An approved campaign whose audience grew by more than this share needs approving again.
REAPPROVAL_GROWTH = 0.10
EDITABLE = (CampaignStatus.DRAFT, CampaignStatus.AWAITING_APPROVAL, CampaignStatus.SCHEDULED)
# Fields of the hidden rule a campaign form or API call may set.
RULE_FIELDS = ("template", "allowed_channels", "holdout_percent", "attribution_days")


class CampaignStateError(ApplicationError):
    """The campaign is not in a state that allows this step."""


def _local_date(tenant: Tenant, moment: datetime) -> date:
    try:
        zone = ZoneInfo(tenant.time_zone)
    except (KeyError, ValueError):
        zone = ZoneInfo("Asia/Tokyo")
    return moment.astimezone(zone).date()


def campaign_send_date(*, campaign: Campaign) -> date:
    """The shop-local date of the send: the reminders' occasion, and the `on` of the audience."""
    return _local_date(campaign.tenant, campaign.scheduled_for)


def campaign_audience_count(*, tenant: Tenant, campaign: Campaign) -> int:
    return audience_customers(
        tenant=tenant, audience=campaign.audience, on=campaign_send_date(campaign=campaign)
    ).count()


def _threshold(tenant: Tenant) -> int:
    row = CampaignSettings.objects.for_tenant(tenant).first()
    return row.approval_threshold if row else CampaignSettings._meta.get_field("approval_threshold").default


def _check_template(tenant: Tenant, template: ReminderTemplate | None) -> None:
    if template is None or template.tenant_id != tenant.pk:
        raise ApplicationError(_("Choose one of the shop's e-mail templates."))


@transaction.atomic
def campaign_create(
    *,
    tenant: Tenant,
    name: str,
    audience: Any,
    scheduled_for: datetime,
    template: ReminderTemplate,
    created_by: User | None = None,
    allowed_channels: str = "",
    holdout_percent: int = 0,
    attribution_days: int = 60,
) -> Campaign:
    """A draft campaign and its hidden rule (kind campaign, one step on the occasion itself)."""
    _check_template(tenant, template)
    clean = audience_clean(tenant=tenant, data=audience)
    rule = reminder_rule_create(
        tenant=tenant,
        offsets=[0],
        name=name,
        kind=RuleKind.CAMPAIGN,
        template=template,
        allowed_channels=allowed_channels,
        holdout_percent=holdout_percent,
        attribution_days=attribution_days,
    )
    campaign = Campaign(
        tenant=tenant,
        name=name,
        rule=rule,
        audience=clean,
        scheduled_for=scheduled_for,
        created_by=created_by,
    )
    # The one unique field is the new hidden rule (OneToOne; the database enforces it): Django's own
    # unique check would query campaigns without the tenant.
    campaign.full_clean(validate_unique=False)
    campaign.save()
    campaign.audience_size = campaign_audience_count(tenant=tenant, campaign=campaign)
    campaign.save(update_fields=["audience_size", "updated_at"])
    return campaign


def _locked(tenant: Tenant, campaign: Campaign) -> Campaign:
    return Campaign.objects.for_tenant(tenant).select_for_update().select_related("rule").get(pk=campaign.pk)


def _drop_approval(campaign: Campaign) -> None:
    campaign.approved_by, campaign.approved_at, campaign.approved_size = None, None, None


@transaction.atomic
def campaign_update(*, tenant: Tenant, campaign: Campaign, data: dict[str, Any]) -> Campaign:
    """Change a campaign before launch. It becomes a draft again and loses its approval: what was
    approved is not what will be sent any more."""
    campaign = _locked(tenant, campaign)
    if campaign.status not in EDITABLE:
        raise CampaignStateError(_("A launched or cancelled campaign cannot be changed."))
    rule = campaign.rule
    if "template" in data:
        _check_template(tenant, data["template"])
    for field in RULE_FIELDS:
        if field in data:
            setattr(rule, field, data[field])
    if "name" in data:
        campaign.name = rule.name = data["name"]
    rule.full_clean()
    rule.save()
    if "audience" in data:
        campaign.audience = audience_clean(tenant=tenant, data=data["audience"])
    if "scheduled_for" in data:
        campaign.scheduled_for = data["scheduled_for"]
    campaign.status = CampaignStatus.DRAFT
    _drop_approval(campaign)
    campaign.full_clean(validate_unique=False)
    campaign.audience_size = campaign_audience_count(tenant=tenant, campaign=campaign)
    campaign.save()
    return campaign


@transaction.atomic
def campaign_submit(*, tenant: Tenant, campaign: Campaign) -> Campaign:
    """Ask to send a draft: scheduled at once up to the shop's threshold, else awaiting approval."""
    campaign = _locked(tenant, campaign)
    if campaign.status != CampaignStatus.DRAFT:
        raise CampaignStateError(_("Only a draft can be submitted."))
    campaign.audience_size = campaign_audience_count(tenant=tenant, campaign=campaign)
    if campaign.audience_size == 0:
        raise CampaignStateError(_("The audience is empty: nobody would receive this campaign."))
    needs_approval = campaign.audience_size > _threshold(tenant)
    campaign.status = CampaignStatus.AWAITING_APPROVAL if needs_approval else CampaignStatus.SCHEDULED
    campaign.save(update_fields=["audience_size", "status", "updated_at"])
    return campaign


@transaction.atomic
def campaign_approve(*, tenant: Tenant, campaign: Campaign, by: User) -> Campaign:
    """An owner or manager approves a campaign awaiting approval; who, when and for how many is kept."""
    membership = Membership.objects.for_tenant(tenant).filter(user=by).first()
    if membership is None or not membership.has_role(APPROVE_CAMPAIGNS):
        raise ApplicationError(_("Only an owner or a manager can approve a campaign."))
    campaign = _locked(tenant, campaign)
    if campaign.status != CampaignStatus.AWAITING_APPROVAL:
        raise CampaignStateError(_("Only a campaign awaiting approval can be approved."))
    campaign.audience_size = campaign_audience_count(tenant=tenant, campaign=campaign)
    campaign.status = CampaignStatus.SCHEDULED
    campaign.approved_by, campaign.approved_at = by, timezone.now()
    campaign.approved_size = campaign.audience_size
    campaign.save()
    return campaign


@transaction.atomic
def campaign_cancel(*, tenant: Tenant, campaign: Campaign) -> Campaign:
    """Cancel before launch; the hidden rule is switched off with it."""
    campaign = _locked(tenant, campaign)
    if campaign.status not in EDITABLE:
        raise CampaignStateError(_("Only a campaign not launched yet can be cancelled."))
    campaign.status = CampaignStatus.CANCELLED
    campaign.save(update_fields=["status", "updated_at"])
    ReminderRule.objects.for_tenant(tenant).filter(pk=campaign.rule_id).update(is_active=False)
    return campaign


def _insert_reminders(*, tenant: Tenant, campaign: Campaign, on: date, due: date) -> int:
    """One INSERT … SELECT over the audience query; conflicts (a second launch) are skipped."""
    audience_sql, audience_params = (
        audience_customers(tenant=tenant, audience=campaign.audience, on=on)
        .values("id")
        .query.sql_with_params()
    )
    pg = connection.vendor == "postgresql"
    status = holdout_status_sql(
        pg=pg,
        tenant="hr.tenant_id",
        rule="hr.id",
        customer="a.id",
        salt="hr.holdout_salt",
        percent="hr.holdout_percent",
        held_out="%s",
        pending="%s",
    )
    now = timezone.now()
    day = (lambda d: d) if pg else (lambda d: d.isoformat())
    sql = (
        "INSERT INTO reminders_reminder (tenant_id, rule_id, step, customer_id, vehicle_id, occasion_date, "
        "due_date, status, reason, attempts, created_at, updated_at) "
        f"SELECT hr.tenant_id, hr.id, 1, a.id, NULL, %s, %s, {status}, '', 0, %s, %s "
        f"FROM ({audience_sql}) a JOIN reminders_reminderrule hr ON hr.id = %s AND hr.tenant_id = %s "
        "WHERE true ON CONFLICT DO NOTHING"
    )
    params = [
        day(on),
        day(due),
        ReminderStatus.HELD_OUT,
        ReminderStatus.PENDING,
        now,
        now,
        *audience_params,
        campaign.rule_id,
        tenant.pk,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


@transaction.atomic
def campaign_launch(*, tenant: Tenant, campaign: Campaign, now: datetime | None = None) -> int | None:
    """Write a due scheduled campaign's reminders and mark it launched. Returns the rows written, or
    None when there was nothing to do (not scheduled, not due, or sent back for approval).

    The campaign row is locked first, so a concurrent launch waits and then finds it launched.
    """
    now = now or timezone.now()
    campaign = _locked(tenant, campaign)
    if campaign.status != CampaignStatus.SCHEDULED or campaign.scheduled_for > now:
        return None
    on = campaign_send_date(campaign=campaign)
    size = campaign_audience_count(tenant=tenant, campaign=campaign)
    grew = campaign.approved_size is not None and size > campaign.approved_size * (1 + REAPPROVAL_GROWTH)
    unapproved_large = campaign.approved_size is None and size > _threshold(tenant)
    if grew or unapproved_large:
        campaign.audience_size = size
        campaign.status = CampaignStatus.AWAITING_APPROVAL
        _drop_approval(campaign)
        campaign.save()
        return None
    written = _insert_reminders(tenant=tenant, campaign=campaign, on=on, due=_local_date(tenant, now))
    campaign.status, campaign.launched_at, campaign.audience_size = CampaignStatus.LAUNCHED, now, size
    campaign.save(update_fields=["status", "launched_at", "audience_size", "updated_at"])
    return written


def campaigns_launch_due(*, now: datetime | None = None) -> int:
    """Beat job: launch every shop's due scheduled campaigns, each in its own tenant transaction."""
    now = now or timezone.now()
    launched = 0
    for tenant in Tenant.objects.order_by("id"):
        with tenant_context(tenant.pk):
            due = list(
                Campaign.objects.for_tenant(tenant)
                .filter(status=CampaignStatus.SCHEDULED, scheduled_for__lte=now)
                .order_by("scheduled_for", "id")
            )
        for campaign in due:
            with tenant_context(tenant.pk):
                if campaign_launch(tenant=tenant, campaign=campaign, now=now) is not None:
                    launched += 1
    return launched


@transaction.atomic
def campaign_settings_update(*, tenant: Tenant, approval_threshold: int) -> CampaignSettings:
    row = CampaignSettings.objects.for_tenant(tenant).first() or CampaignSettings(tenant=tenant)
    row.approval_threshold = approval_threshold
    row.full_clean()
    row.save()
    return row
