"""LINE's share of a customer's personal data (APPI 開示・消去): the LINE account link, the messages the
customer sent on LINE, their link codes and the webhook events that carried them.

Registered with `customers.privacy` by `ChannelsConfig.ready()`, next to channels.privacy.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from channels.line_models import LineInboundMessage, LineLinkCode
from channels.models import LineContact, LineWebhookEvent
from crm.models import Tenant
from customers.models import Customer
from customers.privacy import PersonalDataPart, personal_rows


def export(*, tenant: Tenant, customer: Customer) -> dict[str, Any]:
    contacts = LineContact.objects.for_tenant(tenant).filter(customer=customer).order_by("pk")
    messages = (
        LineInboundMessage.objects.for_tenant(tenant)
        .filter(contact__customer=customer)
        .order_by("sent_at", "pk")
    )
    return {
        "line_accounts": personal_rows(
            contacts, ["line_user_id", "display_name", "following", "followed_at", "linked_at"]
        ),
        "line_messages": personal_rows(messages, ["sent_at", "message_type", "text"]),
    }


def erase(*, tenant: Tenant, customer: Customer, now: datetime) -> dict[str, int]:
    """The LINE account is unlinked and forgotten: its messages, the stored webhook bodies of that
    userId (they hold the texts) and the customer's link codes are deleted. The webhook events keep
    their ids, so a redelivery still changes nothing."""
    contacts = LineContact.objects.for_tenant(tenant).filter(customer=customer)
    user_ids = list(contacts.values_list("line_user_id", flat=True))
    events = (
        LineWebhookEvent.objects.for_tenant(tenant)
        .filter(line_user_id__in=user_ids)
        .update(line_user_id="", payload={})
    )
    messages, _ = LineInboundMessage.objects.for_tenant(tenant).filter(contact__customer=customer).delete()
    LineLinkCode.objects.for_tenant(tenant).filter(customer=customer).delete()
    accounts, _ = contacts.delete()
    return {
        "line_accounts_deleted": accounts,
        "line_messages_deleted": messages,
        "line_events_cleared": events,
    }


PERSONAL_DATA = PersonalDataPart(export=export, erase=erase)
