"""Who can receive what: the channel choice, set-based, and the shop's channel settings."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q

from channels.crypto import decrypt_secret
from channels.models import (
    ChannelConsent,
    ChannelSettings,
    ConsentStatus,
    CustomerChannelPreference,
    LineContact,
    MessageChannel,
    parse_channel_order,
)
from customers.models import Consent, Customer

_MOBILE = re.compile(r"^0[789]0\d{8}$")


def normalize_phone(phone: str) -> str:
    """Digits of a Japanese number in domestic form: "+81 90-1234-5678" → "09012345678"."""
    digits = re.sub(r"\D", "", phone or "")
    if (phone or "").strip().startswith("+81") or (digits.startswith("81") and len(digits) == 12):
        digits = "0" + digits[2:]
    return digits


def is_mobile_number(phone: str) -> bool:
    """070/080/090 + 8 digits: the numbers an SMS can reach (landlines cannot)."""
    return bool(_MOBILE.match(normalize_phone(phone)))


def mobile_e164(phone: str) -> str:
    """ "090-1234-5678" → "+819012345678" (the form SMS providers take)."""
    return "+81" + normalize_phone(phone)[1:]


def channel_settings_get(*, tenant_id: int) -> ChannelSettings:
    """The shop's channel settings; an unsaved default row when the shop never saved any."""
    row = ChannelSettings.objects.for_tenant(tenant_id).first()
    return row or ChannelSettings(tenant_id=tenant_id)


@dataclass(frozen=True)
class LineCredentials:
    channel_id: str
    channel_secret: str
    access_token: str


def line_credentials(*, tenant_id: int) -> LineCredentials:
    """The shop's LINE channel secret and access token, decrypted (empty strings when not set)."""
    row = channel_settings_get(tenant_id=tenant_id)
    return LineCredentials(
        channel_id=row.line_channel_id,
        channel_secret=decrypt_secret(row.line_channel_secret_encrypted),
        access_token=decrypt_secret(row.line_access_token_encrypted),
    )


def line_channel_secret(*, tenant_id: int) -> str:
    """For the webhook's signature check."""
    return decrypt_secret(channel_settings_get(tenant_id=tenant_id).line_channel_secret_encrypted)


def sms_api_key(*, tenant_id: int) -> str:
    return decrypt_secret(channel_settings_get(tenant_id=tenant_id).sms_api_key_encrypted)


# --- receivability --------------------------------------------------------------------------------
def email_receivable(customer: dict) -> bool:
    # 特定電子メール法: only a recorded opt-in (with its time) allows a marketing e-mail.
    return (
        bool(customer["email"])
        and customer["consent"] == Consent.OPTED_IN
        and customer["consent_at"] is not None
    )


def postcard_addressable(customer: dict) -> bool:
    """A postcard needs a 〒 and an address line (the prefecture may be part of either)."""
    return bool((customer["postal_code"] or "").strip()) and bool((customer["address"] or "").strip())


CUSTOMER_FIELDS = ("id", "email", "consent", "consent_at", "phone", "postal_code", "prefecture", "address")


def channels_for_customers(*, tenant_id: int, customer_ids: Iterable[int]) -> dict[int, list[str]]:
    """The channels each customer can receive now, in preference order (best first).

    The order is the customer's override, else the shop's default; a channel the shop does not use
    is never offered. Receivable: e-mail = address + recorded opt-in (特定電子メール法); LINE = a linked
    LINE contact that still follows the account; SMS = a mobile number + recorded SMS opt-in;
    postcard = 〒 and address and no recorded refusal. Five queries, whatever the number of customers.
    Customers not found (deleted, other tenant) map to [].
    """
    ids = set(customer_ids)
    result: dict[int, list[str]] = {customer_id: [] for customer_id in ids}
    if not ids:
        return result
    shop_order = channel_settings_get(tenant_id=tenant_id).order
    customers = {
        c["id"]: c for c in Customer.objects.for_tenant(tenant_id).filter(pk__in=ids).values(*CUSTOMER_FIELDS)
    }
    consents: dict[tuple[int, str], str] = {
        (customer_id, channel): status
        for customer_id, channel, status in ChannelConsent.objects.for_tenant(tenant_id)
        .filter(customer_id__in=ids)
        .values_list("customer_id", "channel", "status")
    }
    overrides = dict(
        CustomerChannelPreference.objects.for_tenant(tenant_id)
        .filter(customer_id__in=ids)
        .values_list("customer_id", "channel_order")
    )
    on_line = set(
        LineContact.objects.for_tenant(tenant_id)
        .filter(customer_id__in=ids, following=True)
        .values_list("customer_id", flat=True)
    )
    for customer_id, c in customers.items():
        order = _effective_order(shop_order, overrides.get(customer_id))
        result[customer_id] = [ch for ch in order if _receivable(ch, c, consents, customer_id in on_line)]
    return result


def _effective_order(shop_order: list[str], override: str | None) -> list[str]:
    if override is None:
        return shop_order
    return [ch for ch in parse_channel_order(override) if ch in shop_order]


def _receivable(channel: str, c: dict, consents: dict, following: bool) -> bool:
    if channel == MessageChannel.EMAIL:
        return email_receivable(c)
    if channel == MessageChannel.LINE:
        return following
    if channel == MessageChannel.SMS:
        return consents.get((c["id"], channel)) == ConsentStatus.OPTED_IN and is_mobile_number(c["phone"])
    if channel == MessageChannel.POSTCARD:
        return consents.get((c["id"], channel)) != ConsentStatus.OPTED_OUT and postcard_addressable(c)
    return False


def choose_channel(receivable: list[str], allowed: Iterable[str] | None = None) -> str | None:
    """The first receivable channel the rule allows (None: nobody can be reached → call task)."""
    allowed_set = set(allowed) if allowed is not None else None
    for ch in receivable:
        if allowed_set is None or ch in allowed_set:
            return ch
    return None


def postcard_recipients(*, tenant_id: int, customer_ids: Iterable[int]) -> set[int]:
    """Customers who may get a postcard (〒 + address, no refusal), whatever the channel order."""
    ids = set(customer_ids)
    refused = set(
        ChannelConsent.objects.for_tenant(tenant_id)
        .filter(customer_id__in=ids, channel=MessageChannel.POSTCARD, status=ConsentStatus.OPTED_OUT)
        .values_list("customer_id", flat=True)
    )
    return {
        c["id"]
        for c in Customer.objects.for_tenant(tenant_id)
        .filter(pk__in=ids)
        .exclude(Q(postal_code="") | Q(address=""))
        .values("id", "postal_code", "address")
        if c["id"] not in refused and postcard_addressable(c)
    }


def line_contact_for_customers(*, tenant_id: int, customer_ids: Iterable[int]) -> dict[int, LineContact]:
    """The following LINE contact of each customer (one query)."""
    return {
        lc.customer_id: lc
        for lc in LineContact.objects.for_tenant(tenant_id).filter(
            customer_id__in=set(customer_ids), following=True
        )
    }


def channel_consents_for_customer(*, tenant_id: int, customer_id: int) -> dict[str, ChannelConsent]:
    return {
        c.channel: c for c in ChannelConsent.objects.for_tenant(tenant_id).filter(customer_id=customer_id)
    }


def channel_preference_for_customer(*, tenant_id: int, customer_id: int) -> CustomerChannelPreference | None:
    return CustomerChannelPreference.objects.for_tenant(tenant_id).filter(customer_id=customer_id).first()


@dataclass(frozen=True)
class ChannelStanding:
    """One channel of one customer, as the Customer 360 shows it."""

    channel: str
    position: int | None  # 1 = tried first; None: not in the customer's (or shop's) order
    receivable: bool  # could get a message on it now
    state: str  # opted_in | opted_out | unknown | following | blocked | not_linked | not_asked |
    #             refused | has_address | no_address
    at: object  # datetime of the consent / follow / refusal, or None
    source: str  # how it was given (e-mail, SMS, postcard); "" otherwise

    @property
    def label(self) -> str:
        return MessageChannel(self.channel).label


def customer_channel_overview(*, tenant_id: int, customer: Customer) -> dict:
    """Every channel of one customer: consent state (when, how), place in the channel order, whether
    it can be received now, and the LINE contact. Channels in order first, the rest after them.

    All reads are scoped to `tenant_id` (a row of another shop never shows, whatever its customer id).
    """
    consents = channel_consents_for_customer(tenant_id=tenant_id, customer_id=customer.pk)
    preference = channel_preference_for_customer(tenant_id=tenant_id, customer_id=customer.pk)
    shop_order = channel_settings_get(tenant_id=tenant_id).order
    order = _effective_order(shop_order, preference.channel_order if preference else None)
    contact = LineContact.objects.for_tenant(tenant_id).filter(customer_id=customer.pk).first()
    receivable = set(channels_for_customers(tenant_id=tenant_id, customer_ids=[customer.pk])[customer.pk])

    def standing(channel: str) -> ChannelStanding:
        at, source = None, ""
        if channel == MessageChannel.EMAIL:
            state = customer.consent
            at = customer.opted_out_at if state == Consent.OPTED_OUT else customer.consent_at
            source = customer.consent_source if state != Consent.UNKNOWN else ""
        elif channel == MessageChannel.LINE:
            if contact is None:
                state = "not_linked"
            elif contact.following:
                state, at = "following", contact.followed_at or contact.linked_at
            else:
                state, at = "blocked", contact.unfollowed_at
        elif channel == MessageChannel.SMS:
            row = consents.get(channel)
            state = row.status if row else "not_asked"
            at, source = (row.recorded_at, row.source) if row else (None, "")
        else:
            row = consents.get(channel)
            if row is not None and row.status == ConsentStatus.OPTED_OUT:
                state, at, source = "refused", row.recorded_at, row.source
            else:
                addressable = postcard_addressable(
                    {"postal_code": customer.postal_code, "address": customer.address}
                )
                state = "has_address" if addressable else "no_address"
        position = order.index(channel) + 1 if channel in order else None
        return ChannelStanding(channel, position, channel in receivable, state, at, source)

    rows = sorted(
        (standing(ch) for ch in MessageChannel.values),
        key=lambda s: (s.position is None, s.position or 0, MessageChannel.values.index(s.channel)),
    )
    return {
        "channel_rows": rows,
        "channel_own_order": preference is not None,
        "channel_shop_order": shop_order,
    }
