"""Channels: the ways a message reaches a customer (e-mail, LINE, はがき, SMS), and who may get which.

E-mail consent stays on `customers.Customer` (consent, consent_at, consent_source, opted_out_at): it is
the e-mail channel's consent. The rest lives here: SMS opt-in and postcard refusal (`ChannelConsent`),
LINE friendship (`LineContact`), the shop's default order and per-customer overrides, and the shop's
LINE and SMS credentials (encrypted at rest, see channels/crypto.py).
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.tenancy.scoping import TenantOwned
from customers.models import Customer


class MessageChannel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    LINE = "line", "LINE"
    POSTCARD = "postcard", _("Postcard (はがき)")
    SMS = "sms", "SMS"


ALL_CHANNELS: tuple[str, ...] = tuple(MessageChannel.values)

# A shop without a settings row: LINE first (what most car owners read), then e-mail, then SMS.
# Postcards are not in the default: they commit the shop to printing and posting, and their consent
# is implicit (an address), so a shop turns them on deliberately in its channel settings.
DEFAULT_CHANNEL_ORDER: tuple[str, ...] = (MessageChannel.LINE, MessageChannel.EMAIL, MessageChannel.SMS)


def parse_channel_order(value: str) -> list[str]:
    """ "line,email" → ["line", "email"]; unknown names and repeats are dropped, order kept."""
    out: list[str] = []
    for part in (value or "").split(","):
        name = part.strip()
        if name in ALL_CHANNELS and name not in out:
            out.append(name)
    return out


def validate_channel_order(value: str) -> None:
    parts = [p.strip() for p in (value or "").split(",") if p.strip()]
    unknown = [p for p in parts if p not in ALL_CHANNELS]
    if unknown:
        raise ValidationError(_("Unknown channel: %(names)s"), params={"names": ", ".join(unknown)})
    if len(parts) != len(set(parts)):
        raise ValidationError(_("Each channel may appear only once."))


class ChannelSettings(TenantOwned):
    """One per shop: the default channel order and the LINE / SMS accounts.

    Secrets are stored encrypted (`channels.crypto`) and never rendered back; changes are audited
    (`channels.services.channel_settings_update`).
    """

    # The channels the shop uses, best first; a channel not listed is not used at all (empty: none,
    # every due reminder becomes a call task).
    channel_order = models.CharField(
        _("channel order"),
        max_length=60,
        blank=True,
        default=",".join(DEFAULT_CHANNEL_ORDER),
        validators=[validate_channel_order],
    )
    line_channel_id = models.CharField(_("LINE channel ID"), max_length=20, blank=True)
    line_channel_secret_encrypted = models.TextField(blank=True, editable=False)
    line_access_token_encrypted = models.TextField(blank=True, editable=False)
    # The shop's LINE official account (@xxxx), for the "add friend" QR code and link.
    line_basic_id = models.CharField(_("LINE basic ID"), max_length=30, blank=True)
    sms_sender_id = models.CharField(_("SMS sender ID"), max_length=11, blank=True)
    sms_api_key_encrypted = models.TextField(blank=True, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("channel settings")
        verbose_name_plural = _("channel settings")
        constraints = [models.UniqueConstraint(fields=["tenant"], name="channelsettings_one_per_tenant")]

    def __str__(self):
        return f"channel settings of tenant {self.tenant_id}"

    @property
    def order(self) -> list[str]:
        return parse_channel_order(self.channel_order)

    @property
    def line_configured(self) -> bool:
        return bool(self.line_channel_secret_encrypted and self.line_access_token_encrypted)


class ConsentStatus(models.TextChoices):
    OPTED_IN = "opted_in", _("Opted in")
    OPTED_OUT = "opted_out", _("Opted out / refused")


class ChannelConsent(TenantOwned):
    """A customer's recorded consent for one channel: SMS opt-in (特定電子メール法), postcard refusal.

    No row means "not asked": for SMS that is no consent; for postcards it is consent (a postal
    address and no refusal). E-mail consent is on Customer; LINE consent is `LineContact.following`.
    """

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="channel_consents"
    )
    channel = models.CharField(_("channel"), max_length=10, choices=MessageChannel.choices)
    status = models.CharField(_("status"), max_length=10, choices=ConsentStatus.choices)
    recorded_at = models.DateTimeField(_("recorded at"))
    source = models.CharField(_("how it was given"), max_length=100, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("channel consent")
        verbose_name_plural = _("channel consents")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "customer", "channel"], name="channelconsent_one_per_channel"
            )
        ]

    def __str__(self):
        return f"{self.customer_id} {self.channel}: {self.status}"

    def clean(self):
        if self.customer_id and self.tenant_id and self.customer.tenant_id != self.tenant_id:
            raise ValidationError({"customer": _("Select a valid choice.")})


class CustomerChannelPreference(TenantOwned):
    """Staff's per-customer override of the shop's channel order (e.g. "only LINE, then e-mail")."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="+"
    )
    channel_order = models.CharField(_("channel order"), max_length=60, validators=[validate_channel_order])
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("channel preference")
        verbose_name_plural = _("channel preferences")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "customer"], name="channelpreference_one_per_customer")
        ]

    def __str__(self):
        return f"{self.customer_id}: {self.channel_order}"

    @property
    def order(self) -> list[str]:
        return parse_channel_order(self.channel_order)

    def clean(self):
        if self.customer_id and self.tenant_id and self.customer.tenant_id != self.tenant_id:
            raise ValidationError({"customer": _("Select a valid choice.")})


class LineContact(TenantOwned):
    """A LINE user (by the `userId` webhook events carry) who follows, or followed, the shop's account.

    `customer` is empty until the user is linked (QR code, signed link). Following = LINE consent:
    an `unfollow` (block) sets following=False and stops LINE messages at once.
    """

    line_user_id = models.CharField(_("LINE user ID"), max_length=64)
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="line_contacts",
    )
    display_name = models.CharField(_("LINE display name"), max_length=100, blank=True)
    following = models.BooleanField(_("following"), default=True)
    followed_at = models.DateTimeField(_("followed at"), null=True, blank=True)
    unfollowed_at = models.DateTimeField(_("unfollowed at"), null=True, blank=True)
    linked_at = models.DateTimeField(_("linked at"), null=True, blank=True)
    # Why the last push was refused (blocked, invalid user), set by the sender.
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("LINE contact")
        verbose_name_plural = _("LINE contacts")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "line_user_id"], name="linecontact_unique_user"),
            # One LINE account per customer: linking another one unlinks the old one first.
            models.UniqueConstraint(
                fields=["tenant", "customer"],
                condition=Q(customer__isnull=False),
                name="linecontact_one_per_customer",
            ),
        ]

    def __str__(self):
        return f"{self.line_user_id} → {self.customer_id}"

    def clean(self):
        if self.customer_id and self.tenant_id and self.customer.tenant_id != self.tenant_id:
            raise ValidationError({"customer": _("Select a valid choice.")})


class LineWebhookEvent(TenantOwned):
    """A received LINE webhook event, kept for idempotency: `webhookEventId` is unique per shop."""

    webhook_event_id = models.CharField(_("webhook event ID"), max_length=64)
    event_type = models.CharField(_("event type"), max_length=30)
    line_user_id = models.CharField(_("LINE user ID"), max_length=64, blank=True)
    is_redelivery = models.BooleanField(default=False)
    payload = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)

    class Meta:
        verbose_name = _("LINE webhook event")
        verbose_name_plural = _("LINE webhook events")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "webhook_event_id"], name="linewebhookevent_unique_id")
        ]
        indexes = [models.Index(fields=["tenant", "received_at"], name="linewebhookevent_received")]

    def __str__(self):
        return f"{self.event_type} {self.webhook_event_id}"


# LINE inbound (link codes, inbound messages) lives in its own module; imported here so Django
# registers it with this app. It refers to LineContact by name, so there is no import cycle.
from channels.line_models import LineInboundMessage, LineLinkCode  # noqa: E402, F401
