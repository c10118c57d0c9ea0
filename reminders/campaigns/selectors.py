"""Reads of campaigns. Every read takes the tenant; another shop's campaign is a 404."""

from __future__ import annotations

from django.db.models import Count, QuerySet
from django.shortcuts import get_object_or_404

from crm.models import Tenant
from customers.models import Customer
from reminders.campaigns.audience import audience_customers
from reminders.campaigns.services import campaign_send_date
from reminders.models import Campaign, CampaignSettings, Reminder


def campaign_list(*, tenant: Tenant) -> QuerySet[Campaign]:
    return Campaign.objects.for_tenant(tenant).select_related(
        "rule", "rule__template", "created_by", "approved_by"
    )


def campaign_get(*, tenant: Tenant, pk: int) -> Campaign:
    return get_object_or_404(campaign_list(tenant=tenant), pk=pk)


def campaign_settings_get(*, tenant: Tenant) -> CampaignSettings:
    """The shop's campaign settings; an unsaved default row when it never saved any."""
    return CampaignSettings.objects.for_tenant(tenant).first() or CampaignSettings(tenant=tenant)


def campaign_audience(*, tenant: Tenant, campaign: Campaign) -> QuerySet[Customer]:
    """The customers the campaign would go to if it were sent on its date, in a stable list order."""
    return audience_customers(
        tenant=tenant, audience=campaign.audience, on=campaign_send_date(campaign=campaign)
    ).order_by("family_name_kana", "given_name_kana", "pk")


def campaign_reminder_counts(*, tenant: Tenant, campaign: Campaign) -> dict[str, int]:
    """Rows of the campaign's hidden rule by status (after launch: sent, held out, …)."""
    rows = (
        Reminder.objects.for_tenant(tenant)
        .filter(rule_id=campaign.rule_id)
        .values("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {row["status"]: row["n"] for row in rows}
