"""LINE inbound data of Kizuna's own (next to channels.models): one-time link codes and inbound messages.

Kept in their own module so the channel models stay readable; channels.models imports them so
Django registers them in the channels app.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.tenancy.scoping import TenantOwned
from customers.models import Customer
from interactions.models import Interaction


class LineLinkCode(TenantOwned):
    """A one-time code that links the LINE user who sends it to `customer` (QR code on the Customer 360).

    Only an HMAC of (tenant, code) is stored (channels.line_linking.link_code_hash); the code itself is
    shown once, inside the QR code and as text for the counter.
    """

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="line_link_codes"
    )
    code_hash = models.CharField(max_length=64, editable=False)
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("LINE link code")
        verbose_name_plural = _("LINE link codes")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code_hash"], name="linelinkcode_unique_hash")
        ]
        indexes = [
            models.Index(
                fields=["tenant", "customer"], condition=Q(used_at__isnull=True), name="linelinkcode_open"
            )
        ]

    def __str__(self):
        return f"link code of customer {self.customer_id}"

    def clean(self):
        if self.customer_id and self.tenant_id and self.customer.tenant_id != self.tenant_id:
            raise ValidationError({"customer": _("Select a valid choice.")})


class LineInboundMessage(TenantOwned):
    """A message a LINE user sent to the shop's account.

    For a linked user it becomes an inbound `Interaction` on the customer's timeline at once; a message
    from a user not linked yet waits here (`interaction` empty) until staff link the user by hand or
    the user links themselves, and then joins the timeline.
    """

    contact = models.ForeignKey(
        "channels.LineContact",
        verbose_name=_("LINE contact"),
        on_delete=models.CASCADE,
        related_name="messages",
    )
    line_message_id = models.CharField(_("LINE message ID"), max_length=64)
    message_type = models.CharField(_("message type"), max_length=20)
    text = models.TextField(_("text"), blank=True)
    sent_at = models.DateTimeField(_("sent at"))
    interaction = models.OneToOneField(
        Interaction,
        verbose_name=_("interaction"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="line_message",
    )

    class Meta:
        verbose_name = _("LINE message")
        verbose_name_plural = _("LINE messages")
        ordering = ["-sent_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "line_message_id"], name="lineinboundmessage_unique_id")
        ]
        indexes = [
            # "Messages from users not linked yet" on the LINE inbox page.
            models.Index(
                fields=["tenant", "sent_at"],
                condition=Q(interaction__isnull=True),
                name="lineinbound_unlinked",
            ),
            models.Index(fields=["tenant", "contact", "sent_at"], name="lineinbound_contact"),
        ]

    def __str__(self):
        return f"{self.message_type} {self.line_message_id}"
