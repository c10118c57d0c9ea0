"""The scores the weekly list is built from. The scoring job (opportunities.scoring) replaces a shop's
rows set-based; `facts` keeps the inputs of the reason text, so it is rendered in the reader's language
(opportunities.reasons) and the list can say why without recomputing anything."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.tenancy.scoping import TenantOwned


class ScoreMethod(models.TextChoices):
    MODEL = "model", _("Learned from this shop's history")
    RULES = "rules", _("Rule-based (too little history to learn from)")


class VehicleReplacementScore(TenantOwned):
    """P(the customer replaces this owned vehicle within the next 6 months), with its expected value."""

    vehicle = models.OneToOneField(
        "customers.Vehicle", on_delete=models.CASCADE, related_name="replacement_score"
    )
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    probability = models.FloatField(_("probability to replace within 6 months"))
    expected_margin = models.BigIntegerField(_("expected margin (JPY)"), default=0)
    # probability × expected margin: the list's ranking key.
    expected_value = models.BigIntegerField(_("expected value (JPY)"), default=0)
    method = models.CharField(_("method"), max_length=5, choices=ScoreMethod.choices)
    # e.g. {"inspections": 3, "next_inspection": "2027-05-20", "mileage": 128000, "repairs_12m": 180000}
    facts = models.JSONField(_("facts"), default=dict)
    scored_at = models.DateTimeField(_("scored at"))

    class Meta:
        verbose_name = _("replacement score")
        verbose_name_plural = _("replacement scores")
        # No index on expected_value: the nightly scoring rewrites every row in place, and a row whose
        # indexed columns stay the same (tenant, vehicle, customer) is a HOT update on PostgreSQL, with no
        # index write at all (the table keeps room in its pages: fillfactor, migration 0004). The list
        # reads all of a shop's scores, through the tenant index.


class CustomerLeavingRisk(TenantOwned):
    """A valuable customer whose P(alive) fell since last month, or who is overdue against their own
    service rhythm."""

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, related_name="leaving_risk"
    )
    p_alive = models.FloatField(_("probability active"), null=True)
    p_alive_month_ago = models.FloatField(_("probability active a month ago"), null=True)
    # Days past the customer's usual interval between visits (null: no rhythm yet).
    overdue_days = models.IntegerField(_("days overdue"), null=True)
    value = models.BigIntegerField(_("customer value (JPY)"), default=0)
    expected_value = models.BigIntegerField(_("expected value (JPY)"), default=0)
    facts = models.JSONField(_("facts"), default=dict)
    scored_at = models.DateTimeField(_("scored at"))

    class Meta:
        verbose_name = _("leaving risk")
        verbose_name_plural = _("leaving risks")
        indexes = [models.Index(fields=["tenant", "-expected_value"], name="leavingrisk_tenant_value")]


class OpportunitySettings(TenantOwned):
    """A shop's settings for the scores (one row per shop, created with the defaults on first use)."""

    # None = automatic: on when the shop sells vehicles (a dealer), off for a garage until it turns it on.
    replacement_enabled = models.BooleanField(
        _("replacement propensity"), null=True, blank=True, default=None
    )
    # Gross profit of one vehicle sale; empty = the shop's average over its vehicle sales.
    replacement_margin = models.PositiveIntegerField(
        _("margin of a vehicle sale (JPY)"), null=True, blank=True
    )
    # Valuable customers for the leaving risk: the top deciles of value, and/or these RFM segments.
    leaving_top_deciles = models.PositiveSmallIntegerField(_("valuable customers: top deciles"), default=3)
    leaving_segments = models.JSONField(_("valuable customers: segments"), default=list, blank=True)

    class Meta:
        verbose_name = _("opportunity settings")
        verbose_name_plural = _("opportunity settings")
        constraints = [models.UniqueConstraint(fields=["tenant"], name="opportunitysettings_unique_tenant")]

    def clean(self):
        from django.core.exceptions import ValidationError

        if not 0 <= self.leaving_top_deciles <= 10:
            raise ValidationError({"leaving_top_deciles": _("Choose between 0 and 10 deciles.")})
        if not isinstance(self.leaving_segments, list):
            raise ValidationError({"leaving_segments": _("Choose a list of segments.")})


class PAliveSnapshot(TenantOwned):
    """A customer's P(alive) at the last scoring run of a month: the month-ago value of the leaving risk."""

    month = models.DateField(_("month"))  # always the 1st
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    p_alive = models.FloatField(_("probability active"))

    class Meta:
        verbose_name = _("P(alive) snapshot")
        verbose_name_plural = _("P(alive) snapshots")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "month", "customer"], name="palivesnapshot_unique")
        ]


class ReplacementFit(TenantOwned):
    """One fit of a shop's replacement model (or the decision to use the rules) and its backtest.

    `params` holds what scoring needs (feature names, standardisation, coefficients), so scoring never
    refits; the backtest figures are stored so the validation page is one row read.
    """

    fitted_at = models.DateTimeField(_("fitted at"))
    as_of = models.DateField(_("as of"))
    method = models.CharField(_("method"), max_length=5, choices=ScoreMethod.choices)
    events = models.IntegerField(_("replacement events learned from"), default=0)
    periods = models.IntegerField(_("vehicle half-years learned from"), default=0)
    params = models.JSONField(_("model parameters"), default=dict, blank=True)
    seconds = models.FloatField(_("seconds"), default=0)
    # Backtest: learned up to the cut date, scored the vehicles owned then, compared with the next 6 months.
    cut_date = models.DateField(_("backtest cut date"), null=True, blank=True)
    backtest_method = models.CharField(
        _("backtest method"), max_length=5, choices=ScoreMethod.choices, blank=True
    )
    test_vehicles = models.IntegerField(_("vehicles scored at the cut"), default=0)
    test_events = models.IntegerField(_("replacements after the cut"), default=0)
    auc = models.FloatField(_("AUC"), null=True, blank=True)
    # [{"decile": 1, "vehicles": n, "predicted": p, "observed": o}, …], lowest scores first.
    calibration = models.JSONField(_("calibration by decile"), default=list, blank=True)
    hit_listed = models.IntegerField(_("vehicles on the top-20 lists"), default=0)
    hit_replaced = models.IntegerField(_("of them replaced"), default=0)
    # [{"staff_id": id, "listed": n, "replaced": n}, …]
    hit_by_staff = models.JSONField(_("hit rate by staff member"), default=list, blank=True)

    class Meta:
        verbose_name = _("replacement model fit")
        verbose_name_plural = _("replacement model fits")
        indexes = [models.Index(fields=["tenant", "-fitted_at"], name="replfit_tenant_fitted")]


# --- the weekly list (issue #17, part 3) -----------------------------------------------------------
class EntryKind(models.TextChoices):
    REPLACEMENT = "replacement", _("Replacement")
    LEAVING = "leaving", _("About to leave")


class EntryStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("worklist entry", "Open")
    ACTED = "acted", _("Acted on")
    DISMISSED = "dismissed", _("Dismissed")


class ActionKind(models.TextChoices):
    CALL_TASK = "call_task", _("Call task")
    DEAL = "deal", _("Deal")
    MESSAGE = "message", _("Message")
    DISMISS = "dismiss", _("Dismiss")


class DismissReason(models.TextChoices):
    NOT_INTERESTED = "not_interested", _("Not interested")
    JUST_BOUGHT = "just_bought", _("Bought recently / elsewhere")
    ALREADY_IN_CONTACT = "in_contact", _("Already in contact")
    WRONG_DATA = "wrong_data", _("The data is wrong")
    DO_NOT_CONTACT = "do_not_contact", _("Does not want to be contacted")
    OTHER = "other", _("Other")


class WorklistSettings(TenantOwned):
    """A shop's weekly-list settings: how many customers per staff member, how long a dismissal holds,
    and the template of the one-off message sent from the list."""

    per_staff = models.PositiveSmallIntegerField(
        _("customers per staff member"), default=20, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    dismiss_days = models.PositiveSmallIntegerField(
        _("a dismissal holds for (days)"),
        default=90,
        validators=[MinValueValidator(1), MaxValueValidator(730)],
    )
    message_template = models.ForeignKey(
        "reminders.ReminderTemplate",
        verbose_name=_("message template"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("weekly list settings")
        verbose_name_plural = _("weekly list settings")
        constraints = [models.UniqueConstraint(fields=["tenant"], name="worklistsettings_one_per_tenant")]


class WorklistEntry(TenantOwned):
    """One customer on one staff member's list for one week (`week` = its Monday, shop time).

    The score's figures and facts are copied in, so the list (and its reason, rendered in the
    reader's language) stays what it was when it was built, whatever the next scoring says.
    `staff` null: the customer has nobody assigned (or a member who left); managers see that bucket.
    """

    week = models.DateField(_("week"))
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    rank = models.PositiveSmallIntegerField(_("rank"))
    kind = models.CharField(_("kind"), max_length=12, choices=EntryKind.choices)
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    vehicle = models.ForeignKey(
        "customers.Vehicle", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    probability = models.FloatField(_("probability"))
    expected_margin = models.BigIntegerField(_("expected margin (JPY)"), default=0)
    expected_value = models.BigIntegerField(_("expected value (JPY)"), default=0)
    method = models.CharField(_("method"), max_length=5, choices=ScoreMethod.choices, blank=True)
    facts = models.JSONField(_("facts"), default=dict)
    status = models.CharField(
        _("status"), max_length=10, choices=EntryStatus.choices, default=EntryStatus.OPEN
    )
    # First action other than a dismissal: the start of the 6 months the hit rate looks at.
    acted_at = models.DateTimeField(_("first acted on"), null=True, blank=True)
    hit_until = models.DateField(_("counts as a hit until"), null=True, blank=True)
    dismissed_at = models.DateTimeField(_("dismissed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("weekly list entry")
        verbose_name_plural = _("weekly list entries")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "week", "customer"], name="worklistentry_once_a_week")
        ]
        indexes = [
            models.Index(fields=["tenant", "week", "staff", "rank"], name="worklistentry_week_staff"),
            models.Index(
                fields=["tenant", "customer", "kind", "dismissed_at"], name="worklistentry_dismissed"
            ),
            models.Index(fields=["tenant", "updated_at", "id"], name="worklistentry_tenant_updated"),
        ]

    def __str__(self):
        return f"{self.week} #{self.rank} {self.kind} → {self.customer_id}"


class WorklistAction(TenantOwned):
    """Who did what from which entry, and the object it made (call task, deal or reminder id)."""

    entry = models.ForeignKey(WorklistEntry, on_delete=models.CASCADE, related_name="actions")
    action = models.CharField(_("action"), max_length=10, choices=ActionKind.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    object_id = models.BigIntegerField(_("resulting object id"), null=True, blank=True)
    dismiss_reason = models.CharField(_("reason"), max_length=20, choices=DismissReason.choices, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        verbose_name = _("weekly list action")
        verbose_name_plural = _("weekly list actions")
        ordering = ["created_at", "id"]
        constraints = [
            # One click is one action: a second call task, deal or message from the same entry is refused.
            models.UniqueConstraint(fields=["tenant", "entry", "action"], name="worklistaction_once")
        ]
