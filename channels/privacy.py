"""Channels' share of a customer's personal data (APPI): consents per channel and the channel order.

Registered with `customers.privacy` by `ChannelsConfig.ready()`. LINE accounts and messages are the
LINE part's (channels/line_privacy.py on the LINE inbound branch).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from channels.models import ChannelConsent, CustomerChannelPreference
from crm.models import Tenant
from customers.models import Customer
from customers.privacy import PersonalDataPart, personal_rows


def export(*, tenant: Tenant, customer: Customer) -> dict[str, Any]:
    return {
        "channel_consents": personal_rows(
            ChannelConsent.objects.for_tenant(tenant).filter(customer=customer).order_by("channel"),
            ["channel", "status", "recorded_at", "source"],
        ),
        "channel_preference": personal_rows(
            CustomerChannelPreference.objects.for_tenant(tenant).filter(customer=customer),
            ["channel_order", "updated_at"],
        ),
    }


def erase(*, tenant: Tenant, customer: Customer, now: datetime) -> dict[str, int]:
    consents, _ = ChannelConsent.objects.for_tenant(tenant).filter(customer=customer).delete()
    preferences, _ = CustomerChannelPreference.objects.for_tenant(tenant).filter(customer=customer).delete()
    return {"channel_consents_deleted": consents, "channel_preferences_deleted": preferences}


PERSONAL_DATA = PersonalDataPart(export=export, erase=erase)
