"""Reminder rules, their steps, e-mail templates, and the Reminder outbox rows the planner creates."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from channels.models import ALL_CHANNELS, MessageChannel, parse_channel_order, validate_channel_order
from crm.tenancy.scoping import TenantOwned
from customers.models import Customer, Vehicle
from reminders.templating import validate_template


class Language(models.TextChoices):
    JA = "ja", _("Japanese")
    EN = "en", _("English")


DEFAULT_LANGUAGE = Language.JA


class RuleKind(models.TextChoices):
    INSPECTION = "inspection", _("Inspection (車検)")
    CHECK_12M = "check_12m", _("12-month legal check")
    CHECK_6M = "check_6m", _("6-month check")
    BIRTHDAY = "birthday", _("Birthday")
    FOLLOW_UP_SERVICE = "follow_up_service", _("Follow-up after a service")
    FOLLOW_UP_PURCHASE = "follow_up_purchase", _("Follow-up after a purchase")
    NURTURE = "nurture", _("Nurture after a first purchase")
    SEASONAL = "seasonal", _("Seasonal")


class ReminderTemplate(TenantOwned):
    """A tenant's e-mail text in one language. Subject and body are sandboxed Jinja2 (see templating.py)."""

    name = models.CharField(_("name"), max_length=100)
    language = models.CharField(
        _("language"), max_length=5, choices=Language.choices, default=DEFAULT_LANGUAGE
    )
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("body"))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("e-mail template")
        verbose_name_plural = _("e-mail templates")
        ordering = ["name", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "name", "language"], name="remindertemplate_unique_name"
            )
        ]

    def __str__(self):
        return f"{self.name} ({self.get_language_display()})"

    def clean(self):
        errors = {}
        for field in ("subject", "body"):
            value = getattr(self, field) or ""
            # PostgreSQL text cannot hold NUL; forms and the API refuse it already, services must too.
            problem = _("Null characters are not allowed.") if "\x00" in value else validate_template(value)
            if problem:
                errors[field] = problem
        if errors:
            raise ValidationError(errors)


class ReminderRule(TenantOwned):
    """What to send, to whom and when. Its steps say how many days before/after the occasion."""

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=RuleKind.choices)
    template = models.ForeignKey(
        # RESTRICT, not PROTECT: a template in use cannot be deleted, but deleting the tenant deletes both.
        ReminderTemplate,
        verbose_name=_("template"),
        on_delete=models.RESTRICT,
        related_name="rules",
    )
    is_active = models.BooleanField(_("active"), default=True)
    # Seasonal rules: the occasion is this day of each listed month, e.g. tyre change on 1 Nov and 1 Mar.
    season_months = models.CharField(
        _("months (seasonal)"), max_length=40, blank=True, help_text=_("Comma-separated, e.g. 3,11")
    )
    season_day = models.PositiveSmallIntegerField(_("day of month (seasonal)"), default=1)
    # Audience of seasonal rules: an analytics segment code (e.g. "champions") or a customer tag.
    audience_segment = models.CharField(_("audience segment"), max_length=40, null=True, blank=True)
    audience_tag = models.CharField(_("audience tag"), max_length=50, blank=True)
    # Channels this rule may use, comma-separated (e.g. "email,postcard"); blank = every channel.
    allowed_channels = models.CharField(
        _("allowed channels"),
        max_length=60,
        blank=True,
        default="",
        db_default="",
        validators=[validate_channel_order],
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("reminder rule")
        verbose_name_plural = _("reminder rules")
        ordering = ["kind", "name"]
        indexes = [models.Index(fields=["tenant", "kind", "is_active"], name="reminderrule_tenant_kind")]

    def __str__(self):
        return self.name

    @property
    def channels(self) -> list[str]:
        """The channels this rule may use (all of them when none is listed)."""
        return parse_channel_order(self.allowed_channels) or list(ALL_CHANNELS)

    @property
    def months(self) -> list[int]:
        return [int(m) for m in self.season_months.split(",") if m.strip()]

    def clean(self):
        if self.template_id and self.tenant_id and self.template.tenant_id != self.tenant_id:
            raise ValidationError({"template": _("Select a valid choice.")})
        if self.season_months:
            try:
                months = self.months
            except ValueError:
                months = [0]
            if not all(1 <= m <= 12 for m in months):
                raise ValidationError({"season_months": _("Enter month numbers 1–12 separated by commas.")})
        if self.kind == RuleKind.SEASONAL and not self.season_months:
            raise ValidationError({"season_months": _("A seasonal rule needs at least one month.")})
        if not 1 <= self.season_day <= 28:
            raise ValidationError({"season_day": _("Use a day between 1 and 28.")})


class ReminderStep(TenantOwned):
    """One send of a rule: `offset_days` relative to the occasion (negative = before it)."""

    rule = models.ForeignKey(ReminderRule, on_delete=models.CASCADE, related_name="steps")
    step = models.PositiveSmallIntegerField(_("step"))
    offset_days = models.IntegerField(_("days from the occasion"))
    # Seasonal rules expand months into steps: the month of this step (null for other kinds).
    month = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["rule", "step"]
        constraints = [models.UniqueConstraint(fields=["tenant", "rule", "step"], name="reminderstep_unique")]

    def __str__(self):
        return f"{self.rule_id}#{self.step} ({self.offset_days:+d})"


class ReminderStatus(models.TextChoices):
    PENDING = "pending", _("Planned")
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    CALL_TASK = "call_task", _("Call task (no e-mail consent)")
    SKIPPED = "skipped", _("Skipped")


class Reminder(TenantOwned):
    """One planned e-mail: the outbox row moving pending → queued → sending → sent/failed.

    The unique index on (tenant, rule, step, customer, vehicle, occasion date) makes planning
    idempotent; `vehicle` is part of it through COALESCE so customer-level reminders are unique too.
    """

    rule = models.ForeignKey(ReminderRule, verbose_name=_("rule"), on_delete=models.CASCADE, related_name="+")
    step = models.PositiveSmallIntegerField(_("step"))
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="reminders"
    )
    vehicle = models.ForeignKey(
        Vehicle, verbose_name=_("vehicle"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    occasion_date = models.DateField(_("occasion"))
    due_date = models.DateField(_("due date"))
    status = models.CharField(
        _("status"), max_length=10, choices=ReminderStatus.choices, default=ReminderStatus.PENDING
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    # The channel the dispatcher chose; blank until claimed (db_default: the planner's INSERT … SELECT
    # does not list the column).
    channel = models.CharField(
        _("channel"), max_length=10, choices=MessageChannel.choices, blank=True, default="", db_default=""
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    queued_at = models.DateTimeField(null=True, blank=True)
    sending_started_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    call_task = models.ForeignKey(
        "interactions.CallTask", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        constraints = [
            models.UniqueConstraint(
                "tenant",
                "rule",
                "step",
                "customer",
                Coalesce("vehicle", 0),
                "occasion_date",
                name="reminder_unique_occasion",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "due_date"], name="reminder_tenant_status_due"),
            # The dispatcher's claim and the sweeper look across tenants by status.
            models.Index(
                fields=["status", "due_date"],
                name="reminder_active_due",
                condition=Q(status__in=["pending", "queued", "sending"]),
            ),
            models.Index(fields=["tenant", "customer"], name="reminder_tenant_customer"),
        ]

    def __str__(self):
        return f"{self.rule_id}#{self.step} → {self.customer_id} on {self.due_date}"
