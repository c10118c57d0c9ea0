"""Dashboard pages of campaigns: list, create/edit (audience builder), detail with the audience preview,
submit, approve, cancel, and the shop's approval threshold. Staff draft; owners and managers approve."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from channels.models import MessageChannel, parse_channel_order
from crm.common.errors import ApplicationError
from crm.tenancy.permissions import tenant_view
from crm.tenancy.roles import APPROVE_CAMPAIGNS, DRAFT_CAMPAIGNS
from reminders.campaigns import selectors, services
from reminders.campaigns.forms import CampaignForm, CampaignSettingsForm
from reminders.models import CampaignStatus, ReminderStatus

PAGE_SIZE = 50


@tenant_view()
def campaign_list(request):
    page = Paginator(selectors.campaign_list(tenant=request.tenant), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "campaigns/list.html",
        {
            "page": page,
            "settings": selectors.campaign_settings_get(tenant=request.tenant),
            "can_draft": request.membership.has_role(DRAFT_CAMPAIGNS),
        },
    )


@tenant_view(read=DRAFT_CAMPAIGNS, write=DRAFT_CAMPAIGNS)
def campaign_edit(request, pk: int | None = None):
    campaign = selectors.campaign_get(tenant=request.tenant, pk=pk) if pk else None
    if campaign is not None and campaign.status not in services.EDITABLE:
        messages.error(request, _("A launched or cancelled campaign cannot be changed."))
        return redirect("campaigns:detail", pk=campaign.pk)
    form = CampaignForm(request.POST or None, tenant=request.tenant, campaign=campaign)
    if request.method == "POST" and form.is_valid():
        try:
            if campaign is None:
                campaign = services.campaign_create(
                    tenant=request.tenant, created_by=request.user, **form.data_for_service()
                )
            else:
                services.campaign_update(
                    tenant=request.tenant, campaign=campaign, data=form.data_for_service()
                )
        except (ValidationError, ApplicationError) as exc:
            form.add_error(None, exc.message if isinstance(exc, ApplicationError) else exc)
        else:
            messages.success(request, _("Campaign saved as a draft. Check the audience, then submit it."))
            return redirect("campaigns:detail", pk=campaign.pk)
    return render(request, "campaigns/form.html", {"form": form, "campaign": campaign})


@tenant_view()
def campaign_detail(request, pk: int):
    """The campaign and its audience preview: how many customers, and the list (50 a page)."""
    campaign = selectors.campaign_get(tenant=request.tenant, pk=pk)
    audience = selectors.campaign_audience(tenant=request.tenant, campaign=campaign)
    page = Paginator(audience, PAGE_SIZE).get_page(request.GET.get("page"))
    settings = selectors.campaign_settings_get(tenant=request.tenant)
    membership = request.membership
    counts = selectors.campaign_reminder_counts(tenant=request.tenant, campaign=campaign)
    return render(
        request,
        "campaigns/detail.html",
        {
            "campaign": campaign,
            "page": page,
            "size": page.paginator.count,
            "threshold": settings.approval_threshold,
            "needs_approval": page.paginator.count > settings.approval_threshold,
            "counts": [(label, counts[value]) for value, label in ReminderStatus.choices if value in counts],
            "editable": campaign.status in services.EDITABLE,
            "can_draft": membership.has_role(DRAFT_CAMPAIGNS),
            "can_approve": membership.has_role(APPROVE_CAMPAIGNS),
            "channel_labels": [
                MessageChannel(c).label for c in parse_channel_order(campaign.rule.allowed_channels)
            ],
        },
    )


def _act(request, pk: int, action, done: str):
    campaign = selectors.campaign_get(tenant=request.tenant, pk=pk)
    try:
        action(campaign)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("campaigns:detail", pk=pk)


@require_POST
@tenant_view(write=DRAFT_CAMPAIGNS)
def campaign_submit(request, pk: int):
    def submit(campaign):
        campaign = services.campaign_submit(tenant=request.tenant, campaign=campaign)
        if campaign.status == CampaignStatus.AWAITING_APPROVAL:
            messages.info(
                request, _("The audience is above the shop's threshold: an owner or manager must approve.")
            )

    return _act(request, pk, submit, _("Campaign submitted."))


@require_POST
@tenant_view(write=APPROVE_CAMPAIGNS)
def campaign_approve(request, pk: int):
    return _act(
        request,
        pk,
        lambda c: services.campaign_approve(tenant=request.tenant, campaign=c, by=request.user),
        _("Campaign approved: it will be sent at its time."),
    )


@require_POST
@tenant_view(write=DRAFT_CAMPAIGNS)
def campaign_cancel(request, pk: int):
    return _act(
        request,
        pk,
        lambda c: services.campaign_cancel(tenant=request.tenant, campaign=c),
        _("Campaign cancelled."),
    )


@tenant_view(read=DRAFT_CAMPAIGNS, write=APPROVE_CAMPAIGNS)
def campaign_settings(request):
    current = selectors.campaign_settings_get(tenant=request.tenant)
    form = CampaignSettingsForm(
        request.POST or None, instance=selectors.campaign_settings_get(tenant=request.tenant)
    )
    if request.method == "POST" and form.is_valid():
        services.campaign_settings_update(
            tenant=request.tenant, approval_threshold=form.cleaned_data["approval_threshold"]
        )
        messages.success(request, _("Campaign settings saved."))
        return redirect("campaigns:list")
    return render(request, "campaigns/settings.html", {"form": form, "current": current})
