"""Write use-cases of the channels app: shop settings, per-customer consent and preference."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from channels.crypto import encrypt_secret
from channels.models import (
    ChannelConsent,
    ChannelSettings,
    ConsentStatus,
    CustomerChannelPreference,
    LineContact,
    MessageChannel,
)
from crm.models import AuditAction, Tenant
from crm.security.audit import audit_record
from customers.models import Customer

SECRET_FIELDS = {
    "line_channel_secret": "line_channel_secret_encrypted",
    "line_access_token": "line_access_token_encrypted",
    "sms_api_key": "sms_api_key_encrypted",
}
PLAIN_FIELDS = ("channel_order", "line_channel_id", "line_basic_id", "sms_sender_id")


@transaction.atomic
def channel_settings_update(*, tenant: Tenant, **values: str) -> ChannelSettings:
    """Save the shop's channel settings. A secret given as "" keeps the stored one (forms never show
    secrets back, so an empty field means "unchanged"); `clear_<secret>=True` removes it.

    Audited as settings_changed: plain values with old/new, secrets only as "(changed)".
    """
    row = ChannelSettings.objects.for_tenant(tenant).select_for_update().first() or ChannelSettings(
        tenant=tenant
    )
    changes: dict[str, object] = {}
    for name in PLAIN_FIELDS:
        if name in values and values[name] is not None and getattr(row, name) != values[name]:
            changes[name] = [getattr(row, name), values[name]]
            setattr(row, name, values[name])
    for name, column in SECRET_FIELDS.items():
        if values.get(f"clear_{name}"):
            if getattr(row, column):
                setattr(row, column, "")
                changes[name] = "(removed)"
        elif values.get(name):
            setattr(row, column, encrypt_secret(values[name].strip()))
            changes[name] = "(changed)"
    row.full_clean()
    row.save()
    if changes:
        audit_record(
            tenant=tenant,
            action=AuditAction.SETTINGS_CHANGED,
            target=row,
            summary="Channel settings changed: " + ", ".join(sorted(changes)),
            changes=changes,
        )
    return row


@transaction.atomic
def channel_consent_set(
    *, tenant: Tenant, customer: Customer, channel: str, status: str | None, source: str
) -> ChannelConsent | None:
    """Record a customer's SMS opt-in/opt-out or postcard refusal, with when and how (audited).

    `status=None` deletes the record ("not asked"). E-mail consent goes through
    customers.services.customer_set_consent; LINE consent is the follow/unfollow of the account.
    """
    if channel not in (MessageChannel.SMS, MessageChannel.POSTCARD):
        raise ValueError(f"consent for {channel} is not recorded here")
    customer = Customer.objects.for_tenant(tenant).get(pk=customer.pk)
    row = (
        ChannelConsent.objects.for_tenant(tenant)
        .select_for_update()
        .filter(customer=customer, channel=channel)
        .first()
    )
    previous = row.status if row else None
    if status is None:
        if row is not None:
            row.delete()
        row = None
    else:
        row = row or ChannelConsent(tenant=tenant, customer=customer, channel=channel)
        row.status = ConsentStatus(status)
        row.recorded_at = timezone.now()
        row.source = source[:100]
        row.full_clean()
        row.save()
    if previous != status:
        audit_record(
            tenant=tenant,
            action=AuditAction.CONSENT_CHANGED,
            target=customer,
            summary=f"Customer #{customer.pk} {channel}: {previous or 'not asked'} → {status or 'not asked'}",
            changes={"channel": channel, "consent": [previous, status], "source": source[:100]},
        )
    return row


@transaction.atomic
def channel_preference_set(*, tenant: Tenant, customer: Customer, channel_order: str | None) -> None:
    """Override the shop's channel order for one customer; None or "" goes back to the shop default."""
    customer = Customer.objects.for_tenant(tenant).get(pk=customer.pk)
    qs = CustomerChannelPreference.objects.for_tenant(tenant).filter(customer=customer)
    if not channel_order:
        qs.delete()
        return
    row = qs.select_for_update().first() or CustomerChannelPreference(tenant=tenant, customer=customer)
    row.channel_order = channel_order
    row.full_clean()
    row.save()


def line_contacts_mark_refused(*, tenant_id: int, line_user_ids: list[str], reason: str) -> int:
    """LINE refused pushes to these users (blocked, invalid userId): stop LINE for them at once.

    Runs inside the caller's tenant transaction; returns how many contacts changed.
    """
    now = timezone.now()
    return (
        LineContact.objects.for_tenant(tenant_id)
        .filter(line_user_id__in=line_user_ids, following=True)
        .update(following=False, unfollowed_at=now, last_error=reason[:300], updated_at=now)
    )
