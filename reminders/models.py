"""Reminder rules, their steps, e-mail templates, the Reminder outbox rows the planner creates, and the
print batches of postcard reminders."""

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
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


def new_holdout_salt() -> str:
    return secrets.token_hex(8)


class RuleKind(models.TextChoices):
    INSPECTION = "inspection", _("Inspection (車検)")
    CHECK_12M = "check_12m", _("12-month legal check")
    CHECK_6M = "check_6m", _("6-month check")
    BIRTHDAY = "birthday", _("Birthday")
    FOLLOW_UP_SERVICE = "follow_up_service", _("Follow-up after a service")
    FOLLOW_UP_PURCHASE = "follow_up_purchase", _("Follow-up after a purchase")
    NURTURE = "nurture", _("Nurture after a first purchase")
    SEASONAL = "seasonal", _("Seasonal")
    BOOKING_CONFIRMATION = "booking_confirmation", _("Booking confirmation")
    BOOKING_REMINDER = "booking_reminder", _("Booking: the day before")
    # The hidden rule behind a one-off campaign (reminders.Campaign): the planner never plans it, the
    # campaign's send step creates its reminders, and dispatch, holdout and results treat it as a rule.
    CAMPAIGN = "campaign", _("Campaign")
    # The hidden rule behind a staff member's one-off message to one customer (e.g. from the weekly list).
    PERSONAL = "personal", _("Message from staff")


# Messages about a booking the customer made: transactional, not advertising. 特定電子メール法
# governs advertising e-mail, so these need no marketing opt-in (an address is enough) and the
# planner never plans them: the bookings app creates them (reminders.transactional).
TRANSACTIONAL_KINDS = frozenset({RuleKind.BOOKING_CONFIRMATION, RuleKind.BOOKING_REMINDER})
# Rules that exist only to carry one-off messages: not listed or edited with the shop's rules.
HIDDEN_RULE_KINDS = frozenset({RuleKind.CAMPAIGN, RuleKind.PERSONAL})


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
    # Randomized control group: this share of eligible customers is planned as `held_out` and sent
    # nothing, so results can compare them with the reminded ones (0 = no control group).
    holdout_percent = models.PositiveSmallIntegerField(
        _("holdout (%)"), default=0, validators=[MaxValueValidator(50)]
    )
    # Part of the stable hash that assigns customers to the holdout; a new salt re-draws the groups.
    holdout_salt = models.CharField(_("holdout salt"), max_length=16, default=new_holdout_salt)
    # A visit (service record or purchase) this many days after the due date counts for the reminder.
    attribution_days = models.PositiveSmallIntegerField(
        _("attribution window (days)"), default=60, validators=[MinValueValidator(1), MaxValueValidator(365)]
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
    # In the rule's (or campaign's) randomized control group: planned, never sent on any channel.
    HELD_OUT = "held_out", _("Held out (control group)")


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
    # Extra template fields of a transactional message (booking date, time, work, link), strings only;
    # the template sees those named in reminders.templating.ALLOWED_FIELDS and nothing else.
    context = models.JSONField(null=True, blank=True)
    # First open (tracking pixel, off by default) and first click on one of its signed links.
    opened_at = models.DateTimeField(_("opened at"), null=True, blank=True)
    clicked_at = models.DateTimeField(_("clicked at"), null=True, blank=True)
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


class PrintBatchStatus(models.TextChoices):
    DRAFT = "draft", _("Ready to print")
    PRINTED = "printed", _("Printed")
    POSTED = "posted", _("Posted")
    CANCELLED = "cancelled", _("Cancelled")


class PrintBatch(TenantOwned):
    """A print run of postcards (はがき): the queued postcard reminders due up to `due_until`.

    draft → printed (the cards PDF was downloaded) → posted (its reminders become sent), or cancelled
    (its reminders are free for the next batch). Reprinting never adds or removes items.
    """

    due_until = models.DateField(_("due until"))
    status = models.CharField(
        _("status"), max_length=10, choices=PrintBatchStatus.choices, default=PrintBatchStatus.DRAFT
    )
    card_count = models.PositiveIntegerField(_("cards"), default=0)
    problem_count = models.PositiveIntegerField(_("not printed"), default=0)
    posted_count = models.PositiveIntegerField(_("marked sent"), default=0)
    print_count = models.PositiveIntegerField(_("times printed"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    printed_at = models.DateTimeField(_("first printed"), null=True, blank=True)
    posted_at = models.DateTimeField(_("posted"), null=True, blank=True)

    class Meta:
        verbose_name = _("print batch")
        verbose_name_plural = _("print batches")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "status"], name="printbatch_tenant_status")]

    def __str__(self):
        return f"#{self.pk} ({self.due_until})"


class PrintBatchItem(TenantOwned):
    """One reminder in a print batch: a card (`problem` empty) or listed as not printable (bad address).

    A reminder is a card of at most one live batch (partial unique constraint); listed problems do not
    hold it, so the next batch lists or prints it again once the address is fixed.
    """

    batch = models.ForeignKey(PrintBatch, on_delete=models.CASCADE, related_name="items")
    reminder = models.ForeignKey(Reminder, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField()
    problem = models.CharField(_("problem"), max_length=100, blank=True)
    # A cancelled batch releases its cards (kept for the record).
    released = models.BooleanField(default=False)

    class Meta:
        ordering = ["batch", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "reminder"],
                condition=Q(problem="", released=False),
                name="printbatchitem_one_live_card",
            ),
            models.UniqueConstraint(fields=["tenant", "batch", "position"], name="printbatchitem_position"),
        ]
        indexes = [models.Index(fields=["tenant", "batch", "problem"], name="printbatchitem_batch")]

    def __str__(self):
        return f"{self.batch_id}#{self.position} → {self.reminder_id}"


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    AWAITING_APPROVAL = "awaiting", _("Awaiting approval")
    SCHEDULED = "scheduled", _("Scheduled")
    LAUNCHED = "launched", _("Launched")
    CANCELLED = "cancelled", _("Cancelled")


class Campaign(TenantOwned):
    """A one-off message to a saved audience, sent once at `scheduled_for`.

    Its hidden rule (kind `campaign`, never planned by the planner) carries the template, the allowed
    channels, the holdout and the attribution window, so its reminders go through the same dispatch,
    consent checks and never-twice constraint as a rule's, and results report it like a rule.
    """

    name = models.CharField(_("name"), max_length=100)
    rule = models.OneToOneField(ReminderRule, on_delete=models.CASCADE, related_name="campaign")
    # The saved audience, e.g. {"segment": "at_risk", "tags": ["vip"], "inspection_in_months": [2, 4],
    # "last_visit_before": "2026-06-01"}; reminders.campaigns validates and resolves it.
    audience = models.JSONField(_("audience"), default=dict, blank=True)
    scheduled_for = models.DateTimeField(_("send at"))
    status = models.CharField(
        _("status"), max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )
    audience_size = models.PositiveIntegerField(_("audience size"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    # The audience size the approver saw; a launch finding the audience grown past it by more than
    # reminders.campaigns.REAPPROVAL_GROWTH sends the campaign back for approval.
    approved_size = models.PositiveIntegerField(_("approved audience size"), null=True, blank=True)
    launched_at = models.DateTimeField(_("launched at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-scheduled_for", "-id"]
        # The launch task looks for due scheduled campaigns shop by shop (row-level security).
        indexes = [
            models.Index(fields=["tenant", "status", "scheduled_for"], name="campaign_tenant_status_due")
        ]

    def __str__(self):
        return self.name


DEFAULT_APPROVAL_THRESHOLD = 200


class CampaignSettings(TenantOwned):
    """A shop's campaign rules: a campaign to more customers than the threshold needs an owner's or
    manager's approval before it is sent (one row per shop, made on first use)."""

    approval_threshold = models.PositiveIntegerField(
        _("approval needed above (customers)"),
        default=DEFAULT_APPROVAL_THRESHOLD,
        help_text=_("A campaign to more customers than this needs an owner or manager to approve it."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("campaign settings")
        verbose_name_plural = _("campaign settings")
        constraints = [models.UniqueConstraint(fields=["tenant"], name="campaignsettings_one_per_tenant")]

    def __str__(self):
        return f"{self.tenant_id}: {self.approval_threshold}"
