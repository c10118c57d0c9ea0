"""Reads of LINE inbound that several pages need (Today, the LINE inbox, the Customer 360)."""

from __future__ import annotations

from django.conf import settings
from django.db.models import OuterRef, QuerySet, Subquery
from django.shortcuts import get_object_or_404
from django.urls import reverse

from channels.crypto import SecretUnreadable
from channels.line_linking import webhook_key_for, webhook_key_read
from channels.line_models import LineInboundMessage
from channels.models import LineContact
from channels.selectors import line_channel_secret
from crm.models import Tenant
from crm.tenancy.rls import tenant_context
from interactions.models import Channel, Direction, Interaction

UNLINKED_SHOWN = 50


def unanswered_line_messages(*, tenant: Tenant) -> QuerySet[Interaction]:
    """Inbound LINE messages of linked customers that no one has answered or marked done yet.

    Answered = follow_up_needed cleared (a staff reply or "done"); the partial follow-up index
    (tenant, staff, occurred_at) WHERE follow_up_needed keeps this to the few open rows.
    """
    return (
        Interaction.objects.for_tenant(tenant)
        .filter(channel=Channel.LINE, direction=Direction.INBOUND, follow_up_needed=True)
        .select_related("customer")
        .order_by("-occurred_at", "-pk")
    )


def unanswered_line_message_get(*, tenant: Tenant, pk: int) -> Interaction:
    return get_object_or_404(unanswered_line_messages(tenant=tenant), pk=pk)


def unlinked_line_messages(*, tenant: Tenant) -> QuerySet[LineInboundMessage]:
    """Messages from LINE users not linked to a customer yet, newest first (for staff to link by hand)."""
    return (
        LineInboundMessage.objects.for_tenant(tenant)
        .filter(interaction__isnull=True, contact__customer__isnull=True)
        .select_related("contact")
        .order_by("-sent_at", "-pk")
    )


def unlinked_line_contacts(*, tenant: Tenant) -> QuerySet[LineContact]:
    """Contacts without a customer, most recent first, with their last message (`last_text`) so staff
    can tell who is who: the choices for linking by hand."""
    last = (
        LineInboundMessage.objects.for_tenant(tenant)
        .filter(contact=OuterRef("pk"))
        .order_by("-sent_at", "-pk")
    )
    return (
        LineContact.objects.for_tenant(tenant)
        .filter(customer__isnull=True)
        .annotate(last_text=Subquery(last.values("text")[:1]))
        .order_by("-updated_at", "-pk")[:UNLINKED_SHOWN]
    )


def unlinked_line_contact_get(*, tenant: Tenant, pk: int) -> LineContact:
    return get_object_or_404(LineContact.objects.for_tenant(tenant).filter(customer__isnull=True), pk=pk)


def customer_line_contact(*, tenant: Tenant, customer_id: int) -> LineContact | None:
    return LineContact.objects.for_tenant(tenant).filter(customer_id=customer_id).first()


def line_webhook_url(*, tenant_id: int) -> str:
    """The absolute webhook URL the shop pastes into the LINE Developers console."""
    return settings.SITE_URL.rstrip("/") + reverse("line:webhook", args=[webhook_key_for(tenant_id)])


def webhook_tenant_id(*, key: str) -> int | None:
    """The shop a webhook URL key names, if it exists. Raises signing.BadSignature for a forged key."""
    tenant_id = webhook_key_read(key)
    return Tenant.objects.filter(pk=tenant_id).values_list("pk", flat=True).first()


def webhook_channel_secret(*, tenant_id: int) -> str:
    """The shop's LINE channel secret in clear ("" when LINE is not set up), read under its own tenant."""
    with tenant_context(tenant_id):
        try:
            return line_channel_secret(tenant_id=tenant_id)
        except SecretUnreadable:  # key changed without rotation: refuse every webhook, never crash
            return ""
