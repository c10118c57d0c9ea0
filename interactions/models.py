"""What happened between the shop and a customer: interactions, deals (商談) and call tasks."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.tenancy.scoping import TenantOwned
from customers.models import Customer, TimeStamped, Vehicle, _same_tenant


class Channel(models.TextChoices):
    VISIT = "visit", _("Visit")
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("E-mail")
    LINE = "line", _("LINE")
    SMS = "sms", _("SMS")
    LETTER = "letter", _("Letter")
    WEB_FORM = "web_form", _("Web form")


class Direction(models.TextChoices):
    INBOUND = "inbound", _("From customer")
    OUTBOUND = "outbound", _("To customer")


class Topic(models.TextChoices):
    NEW_CAR = "new_car", _("New car")
    USED_CAR = "used_car", _("Used car")
    INSPECTION = "inspection", _("Inspection")
    SERVICE = "service", _("Service")
    PARTS = "parts", _("Parts")
    INSURANCE = "insurance", _("Insurance")
    OTHER = "other", _("Other")


class InteractionSource(models.TextChoices):
    MANUAL = "manual", _("Logged by staff")
    REMINDER = "reminder", _("Reminder e-mail")
    IMPORT = "import", _("Import")
    LINE = "line", _("LINE message")  # written by the LINE webhook (channels.line_inbound)


class Interaction(TenantOwned, TimeStamped):
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="interactions"
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    direction = models.CharField(
        _("direction"), max_length=10, choices=Direction.choices, default=Direction.OUTBOUND
    )
    occurred_at = models.DateTimeField(_("date and time"))
    topic = models.CharField(_("topic"), max_length=20, choices=Topic.choices, default=Topic.OTHER)
    summary = models.TextField(_("summary"))
    satisfaction = models.PositiveSmallIntegerField(
        _("satisfaction (1–5)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    follow_up_needed = models.BooleanField(_("follow-up needed"), default=False)
    source = models.CharField(
        _("source"), max_length=10, choices=InteractionSource.choices, default=InteractionSource.MANUAL
    )

    class Meta:
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        ordering = ["-occurred_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(satisfaction__isnull=True) | Q(satisfaction__gte=1, satisfaction__lte=5),
                name="interaction_satisfaction_1_to_5",
            )
        ]
        indexes = [
            models.Index(fields=["tenant", "customer", "occurred_at"], name="interaction_tenant_customer"),
            models.Index(fields=["tenant", "occurred_at"], name="interaction_tenant_time"),
            # Today's "follow-ups assigned to me": a few rows of one member, not a scan of 90 days.
            models.Index(
                fields=["tenant", "staff", "occurred_at"],
                condition=Q(follow_up_needed=True),
                name="interaction_follow_ups",
            ),
            models.Index(fields=["tenant", "updated_at", "id"], name="interaction_tenant_updated"),
        ]

    def __str__(self):
        return f"{self.occurred_at:%Y-%m-%d} {self.get_channel_display()}"

    def clean(self):
        if self.customer_id:
            _same_tenant(self, self.customer, "customer")


class DealStage(models.TextChoices):
    LEAD = "lead", _("Lead")
    CONTACTED = "contacted", _("Contacted")
    PROPOSAL = "proposal", _("Proposal")
    NEGOTIATION = "negotiation", _("Negotiation")
    WON = "won", _("Won")
    LOST = "lost", pgettext_lazy("deal stage", "Lost")


OPEN_DEAL_STAGES = [DealStage.LEAD, DealStage.CONTACTED, DealStage.PROPOSAL, DealStage.NEGOTIATION]


class Deal(TenantOwned, TimeStamped):
    """A sales opportunity (商談)."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="deals"
    )
    vehicle = models.ForeignKey(
        Vehicle,
        verbose_name=_("vehicle of interest"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deals",
    )
    title = models.CharField(_("title"), max_length=200)
    stage = models.CharField(_("stage"), max_length=12, choices=DealStage.choices, default=DealStage.LEAD)
    expected_amount = models.BigIntegerField(
        _("expected amount (JPY)"), default=0, validators=[MinValueValidator(0)]
    )
    expected_close = models.DateField(_("expected close date"), null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    lost_reason = models.CharField(_("lost reason"), max_length=200, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("deal")
        verbose_name_plural = _("deals")
        indexes = [
            models.Index(fields=["tenant", "stage", "expected_close"], name="deal_tenant_stage"),
            # Open deals by closing date (Today, the board): one ordered walk instead of merging 4 stages.
            models.Index(
                fields=["tenant", "expected_close", "id"],
                condition=Q(stage__in=OPEN_DEAL_STAGES),
                name="deal_open_by_close",
            ),
            models.Index(fields=["tenant", "owner"], name="deal_tenant_owner"),
            models.Index(fields=["tenant", "customer"], name="deal_tenant_customer"),
            models.Index(fields=["tenant", "updated_at", "id"], name="deal_tenant_updated"),
        ]

    def __str__(self):
        return self.title

    @property
    def is_open(self) -> bool:
        return self.stage in OPEN_DEAL_STAGES

    def clean(self):
        if self.stage == DealStage.LOST and not self.lost_reason:
            raise ValidationError({"lost_reason": _("Say why the deal was lost.")})
        if self.customer_id:
            _same_tenant(self, self.customer, "customer")
        if self.vehicle_id:
            _same_tenant(self, self.vehicle, "vehicle")


class CallTaskStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("call task status", "Open")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class CallTask(TenantOwned, TimeStamped):
    """A call a staff member should make: a follow-up, or a reminder for a customer we cannot e-mail."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="call_tasks"
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    due_date = models.DateField(_("due date"))
    reason = models.CharField(_("reason"), max_length=200)
    status = models.CharField(
        _("status"), max_length=10, choices=CallTaskStatus.choices, default=CallTaskStatus.OPEN
    )
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)

    class Meta:
        verbose_name = _("call task")
        verbose_name_plural = _("call tasks")
        indexes = [
            models.Index(
                fields=["tenant", "assigned_to", "status", "due_date"], name="calltask_tenant_assignee"
            ),
            models.Index(fields=["tenant", "status", "due_date"], name="calltask_tenant_status"),
        ]

    def __str__(self):
        return self.reason

    def clean(self):
        if self.customer_id:
            _same_tenant(self, self.customer, "customer")
