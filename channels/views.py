"""Dashboard pages of channels: the shop's channel settings, a customer's channels, the LINE/SMS outbox;
and the public short link."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from channels import selectors, services
from channels.forms import ChannelSettingsForm, CustomerChannelsForm
from channels.line_selectors import customer_line_contact, line_webhook_url
from channels.links import SHORT_LINK_TARGETS, read_short_token
from channels.models import ConsentStatus, MessageChannel
from crm.tenancy.permissions import tenant_view
from crm.tenancy.roles import MANAGE_TENANT, Role
from customers.selectors import customer_get

OUTBOX_LIST_LIMIT = 200


@tenant_view(read=MANAGE_TENANT, write=MANAGE_TENANT)
def channel_settings(request):
    row = selectors.channel_settings_get(tenant_id=request.tenant.pk)
    initial = {
        "channel_order": row.channel_order,
        "line_channel_id": row.line_channel_id,
        "line_basic_id": row.line_basic_id,
        "sms_sender_id": row.sms_sender_id,
    }
    form = ChannelSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        services.channel_settings_update(
            tenant=request.tenant,
            channel_order=data["channel_order"],
            line_channel_id=data["line_channel_id"],
            line_basic_id=data["line_basic_id"],
            sms_sender_id=data["sms_sender_id"],
            line_channel_secret=data["line_channel_secret"],
            line_access_token=data["line_access_token"],
            sms_api_key=data["sms_api_key"],
            clear_line_channel_secret=data["clear_line"],
            clear_line_access_token=data["clear_line"],
            clear_sms_api_key=data["clear_sms"],
        )
        messages.success(request, _("Channel settings saved."))
        return redirect("channel_settings")
    return render(
        request,
        "channels/settings.html",
        {
            "active": "channels",
            "form": form,
            "row": row,
            "webhook_url": line_webhook_url(tenant_id=request.tenant.pk),
        },
    )


@tenant_view(read=Role.VIEWER, write=Role.STAFF)
def customer_channels(request, pk: int):
    """A customer's consent per channel (with when and how) and their channel order."""
    customer = customer_get(tenant=request.tenant, pk=pk)
    consents = selectors.channel_consents_for_customer(tenant_id=request.tenant.pk, customer_id=customer.pk)
    preference = selectors.channel_preference_for_customer(
        tenant_id=request.tenant.pk, customer_id=customer.pk
    )
    sms = consents.get(MessageChannel.SMS)
    postcard = consents.get(MessageChannel.POSTCARD)
    form = CustomerChannelsForm(
        request.POST or None,
        initial={
            "channel_order": preference.channel_order if preference else "",
            "sms": sms.status if sms else "",
            "postcard_refused": bool(postcard and postcard.status == ConsentStatus.OPTED_OUT),
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        source = data["source"] or _("staff on the dashboard")
        services.channel_preference_set(
            tenant=request.tenant, customer=customer, channel_order=data["channel_order"] or None
        )
        if (data["sms"] or None) != (sms.status if sms else None):
            services.channel_consent_set(
                tenant=request.tenant,
                customer=customer,
                channel=MessageChannel.SMS,
                status=data["sms"] or None,
                source=source,
            )
        refused_before = bool(postcard and postcard.status == ConsentStatus.OPTED_OUT)
        if data["postcard_refused"] != refused_before:
            services.channel_consent_set(
                tenant=request.tenant,
                customer=customer,
                channel=MessageChannel.POSTCARD,
                status=ConsentStatus.OPTED_OUT if data["postcard_refused"] else None,
                source=source,
            )
        messages.success(request, _("Channels saved."))
        return redirect("customer_channels", pk=customer.pk)
    receivable = selectors.channels_for_customers(tenant_id=request.tenant.pk, customer_ids=[customer.pk])
    line = customer_line_contact(tenant=request.tenant, customer_id=customer.pk)
    return render(
        request,
        "channels/customer_channels.html",
        {
            "customer": customer,
            "form": form,
            "sms": sms,
            "postcard": postcard,
            "line": line,
            "receivable": [MessageChannel(c).label for c in receivable[customer.pk]],
            "shop_order": [
                MessageChannel(c).label
                for c in selectors.channel_settings_get(tenant_id=request.tenant.pk).order
            ],
        },
    )


def _outbox_items(tenant_id: int, folder: Path) -> list[dict]:
    if not folder.is_dir():
        return []
    # The file name starts with the tenant id; the record's own tenant_id is checked as well.
    files = sorted(folder.glob(f"{int(tenant_id)}-*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    items = []
    for path in files[:OUTBOX_LIST_LIMIT]:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if record.get("tenant_id") != tenant_id:
            continue
        items.append(record)
    return items


@tenant_view()
def outbox_channel(request, channel: str):
    """What LINE pushes and SMS would have gone out (embedded setup: the outbox backends)."""
    if channel == MessageChannel.LINE:
        items = _outbox_items(request.tenant.pk, Path(settings.LINE_OUTBOX_DIR))
        for item in items:
            item["texts"] = [
                m.get("text") or m.get("altText", "") for m in item.get("messages", []) if isinstance(m, dict)
            ]
    elif channel == MessageChannel.SMS:
        items = _outbox_items(request.tenant.pk, Path(settings.SMS_OUTBOX_DIR))
        for item in items:
            item["texts"] = [item.get("text", "")]
    else:
        raise Http404
    return render(
        request,
        "channels/outbox.html",
        {"items": items, "channel": channel, "channel_label": MessageChannel(channel).label},
    )


def short_link(request, token: str):
    """Public (no login): /s/<token> from an SMS; forwards to the page the purpose is registered for."""
    value = read_short_token(token)
    if value is None:
        raise Http404
    tenant_id, customer_id, purpose = value
    target = SHORT_LINK_TARGETS.get(purpose)
    if target is None:
        raise Http404
    return redirect(target(tenant_id, customer_id))
