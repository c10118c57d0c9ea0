"""Analytics results: per-tenant settings and segment map, per-customer RFM/LTV, snapshots, fits, KPIs.

Every table here is derived data: it is rebuilt from purchases and service records by
`analytics.services` and can be dropped and recomputed at any time.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.tenancy.scoping import TenantOwned


def _tenant_without_index():
    """The tenant key of a derived per-customer table, without its single-column index.

    Every lookup on these tables goes through an index that starts with tenant already, and each
    extra index is one more entry to write for every one of 100,000 rows on each refresh.
    """
    return models.ForeignKey(
        "crm.Tenant", on_delete=models.CASCADE, related_name="+", editable=False, db_index=False
    )


class Segment(models.TextChoices):
    """Named RFM segments, in display order (best first). `NO_PURCHASE` is not part of the score map."""

    CHAMPIONS = "champions", _("Champions")
    LOYAL = "loyal", _("Loyal")
    POTENTIAL_LOYALIST = "potential_loyalist", _("Potential loyalist")
    NEW = "new", _("New")
    PROMISING = "promising", _("Promising")
    NEED_ATTENTION = "need_attention", _("Need attention")
    ABOUT_TO_SLEEP = "about_to_sleep", _("About to sleep")
    AT_RISK = "at_risk", _("At risk")
    CANT_LOSE = "cant_lose", _("Can't lose them")
    HIBERNATING = "hibernating", _("Hibernating")
    LOST = "lost", _("Lost")
    NO_PURCHASE = "no_purchase", _("No purchase in window")


SCORED_SEGMENTS = [s for s in Segment if s != Segment.NO_PURCHASE]
SCORES = range(1, 6)


def _build_default_map() -> dict[str, str]:
    """The default (R, F) → segment map; keys are "RF" strings such as "55".

    Written as an ordered list of rules where the first rule that matches a cell wins; the
    expanded dict covers every one of the 25 cells exactly once (checked in tests).
    """
    rules = [
        ((5,), (4, 5), Segment.CHAMPIONS),
        ((3, 4), (4, 5), Segment.LOYAL),
        ((4, 5), (2, 3), Segment.POTENTIAL_LOYALIST),
        ((5,), (1,), Segment.NEW),
        ((4,), (1,), Segment.PROMISING),
        ((3,), (3,), Segment.NEED_ATTENTION),
        ((3,), (1, 2), Segment.ABOUT_TO_SLEEP),
        ((1, 2), (3, 4), Segment.AT_RISK),
        ((1, 2), (5,), Segment.CANT_LOSE),
        ((1,), (1,), Segment.LOST),
        ((1, 2), (1, 2), Segment.HIBERNATING),
    ]
    cells: dict[str, str] = {}
    for r_values, f_values, segment in rules:
        for r in r_values:
            for f in f_values:
                cells.setdefault(f"{r}{f}", segment.value)
    return dict(sorted(cells.items()))


DEFAULT_SEGMENT_MAP = _build_default_map()


def validate_segment_map(value) -> None:
    """A segment map must name a scored segment for every (R, F) cell 1..5 × 1..5, exactly once."""
    if not isinstance(value, dict):
        raise ValidationError(_("The segment map must be a mapping of score cells to segments."))
    expected = {f"{r}{f}" for r in SCORES for f in SCORES}
    keys = set(value)
    missing, extra = sorted(expected - keys), sorted(keys - expected)
    if missing or extra:
        raise ValidationError(
            _(
                "The segment map must cover every score cell exactly once "
                "(missing: %(missing)s; unknown: %(extra)s)."
            )
            % {"missing": ", ".join(missing) or "-", "extra": ", ".join(extra) or "-"}
        )
    allowed = {s.value for s in SCORED_SEGMENTS}
    bad = sorted(k for k, v in value.items() if v not in allowed)
    if bad:
        raise ValidationError(_("Unknown segment in cells: %(cells)s.") % {"cells": ", ".join(bad)})


class TransactionSource(models.TextChoices):
    PURCHASES = "purchases", _("Purchases only")
    SERVICES = "services", _("Service records only")
    BOTH = "both", _("Purchases and service records")


class AnalyticsSettings(TenantOwned):
    """A tenant's analytics settings; created with defaults on first use (one row per tenant)."""

    source = models.CharField(
        _("transactions counted"), max_length=10, choices=TransactionSource.choices, default="both"
    )
    window_months = models.PositiveSmallIntegerField(_("RFM window (months)"), default=36)
    repeat_within_months = models.PositiveSmallIntegerField(_("repeat purchase within (months)"), default=24)
    loyal_min_transactions = models.PositiveSmallIntegerField(_("loyal from (transactions)"), default=3)
    annual_discount_rate = models.FloatField(_("annual discount rate"), default=0.10)
    segment_map = models.JSONField(_("segment map"), default=dict, validators=[validate_segment_map])

    class Meta:
        verbose_name = _("analytics settings")
        verbose_name_plural = _("analytics settings")
        constraints = [models.UniqueConstraint(fields=["tenant"], name="analyticssettings_unique_tenant")]

    def __str__(self):
        return f"analytics settings of {self.tenant_id}"

    def clean(self):
        if not 1 <= self.window_months <= 240:
            raise ValidationError({"window_months": _("Choose a window between 1 and 240 months.")})
        if self.loyal_min_transactions < 2:
            raise ValidationError({"loyal_min_transactions": _("Loyal needs at least 2 transactions.")})


class CustomerRFM(TenantOwned):
    """The latest RFM scores and historical value of one customer, brought up to date on every refresh.

    Indexes are few on purpose (the refresh rewrites every row each night): customer (unique) and
    (tenant, segment). The table is kept with free space in each page (fillfactor, migration 0003),
    so a nightly update whose segment did not change is a HOT update that writes no index entry.
    """

    tenant = _tenant_without_index()
    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, related_name="rfm", verbose_name=_("customer")
    )
    as_of = models.DateField(_("as of"))
    computed_at = models.DateTimeField(_("computed at"))
    last_transaction = models.DateField(_("last transaction"), null=True)
    recency_days = models.IntegerField(_("recency (days)"), null=True)
    frequency = models.IntegerField(_("frequency (transaction days)"), default=0)
    monetary = models.BigIntegerField(_("monetary (JPY)"), default=0)
    average = models.BigIntegerField(_("average per transaction day (JPY)"), null=True)
    r_score = models.PositiveSmallIntegerField(_("R"), null=True)
    f_score = models.PositiveSmallIntegerField(_("F"), null=True)
    m_score = models.PositiveSmallIntegerField(_("M"), null=True)
    segment = models.CharField(_("segment"), max_length=20, choices=Segment.choices)
    # Historical value to date (all time up to as_of, not only the window).
    revenue_to_date = models.BigIntegerField(_("revenue to date (JPY)"), default=0)
    gross_profit_to_date = models.BigIntegerField(_("gross profit to date (JPY)"), default=0)
    transactions_to_date = models.IntegerField(_("transaction days to date"), default=0)
    first_transaction = models.DateField(_("first transaction"), null=True)

    class Meta:
        verbose_name = _("customer RFM")
        verbose_name_plural = _("customer RFM")
        indexes = [
            models.Index(fields=["tenant", "segment"], name="customerrfm_tenant_segment"),
        ]


class SegmentSnapshot(TenantOwned):
    """A customer's segment at the last refresh of a month: the basis of migration and history.

    Indexed by (tenant, month, customer) for the migration matrix and by customer for one customer's
    history (and Django's cascade when a customer is deleted); nothing else, see CustomerRFM.
    """

    tenant = _tenant_without_index()
    month = models.DateField(_("month"))  # always the 1st
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    segment = models.CharField(_("segment"), max_length=20, choices=Segment.choices)

    class Meta:
        verbose_name = _("segment snapshot")
        verbose_name_plural = _("segment snapshots")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "month", "customer"], name="segmentsnapshot_unique")
        ]


class MonthlyKPI(TenantOwned):
    """Precomputed KPI-tree figures of one tenant and month (the whole shop; per staff is live)."""

    month = models.DateField(_("month"))
    sales = models.BigIntegerField(_("sales (JPY)"), default=0)
    refunds = models.BigIntegerField(_("refunds (JPY)"), default=0)
    transactions = models.IntegerField(_("transactions"), default=0)
    customers = models.IntegerField(_("customers"), default=0)
    new_customers = models.IntegerField(_("new customers"), default=0)
    returning_customers = models.IntegerField(_("returning customers"), default=0)
    reactivated = models.IntegerField(_("reactivated"), default=0)
    churned = models.IntegerField(_("churned"), default=0)
    active_base = models.IntegerField(_("active base"), default=0)
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("monthly KPI")
        verbose_name_plural = _("monthly KPIs")
        constraints = [models.UniqueConstraint(fields=["tenant", "month"], name="monthlykpi_unique_month")]
        ordering = ["month"]


class FitStatus(models.TextChoices):
    OK = "ok", _("Fitted")
    INSUFFICIENT = "insufficient", _("Not enough repeat customers")
    FAILED = "failed", _("Did not converge")


class BTYDFit(TenantOwned):
    """A BG/NBD + Gamma-Gamma fit of one tenant (time unit: weeks), with its holdout check."""

    fitted_at = models.DateTimeField(_("fitted at"))
    as_of = models.DateField(_("as of"))
    status = models.CharField(_("status"), max_length=12, choices=FitStatus.choices)
    message = models.CharField(_("message"), max_length=300, blank=True)
    n_customers = models.IntegerField(_("customers"), default=0)
    n_repeat = models.IntegerField(_("customers with repeat purchases"), default=0)
    r = models.FloatField(null=True, blank=True)
    alpha = models.FloatField(null=True, blank=True)
    a = models.FloatField(null=True, blank=True)
    b = models.FloatField(null=True, blank=True)
    p = models.FloatField(null=True, blank=True)
    q = models.FloatField(null=True, blank=True)
    gamma = models.FloatField(null=True, blank=True)
    holdout_weeks = models.IntegerField(_("holdout (weeks)"), default=52)
    holdout_predicted = models.FloatField(
        _("predicted repeat transactions in holdout"), null=True, blank=True
    )
    holdout_actual = models.IntegerField(_("actual repeat transactions in holdout"), null=True, blank=True)
    holdout_customers = models.IntegerField(_("customers in holdout check"), null=True, blank=True)

    class Meta:
        verbose_name = _("BTYD fit")
        verbose_name_plural = _("BTYD fits")
        indexes = [models.Index(fields=["tenant", "fitted_at"], name="btydfit_tenant_fitted")]
        ordering = ["-fitted_at"]


class CustomerLTV(TenantOwned):
    """Predicted value of one customer from the tenant's latest BTYD fit.

    `insufficient_history` customers (fewer than 2 transaction days) get no numbers.
    """

    tenant = _tenant_without_index()

    customer = models.OneToOneField("customers.Customer", on_delete=models.CASCADE, related_name="ltv")
    fit = models.ForeignKey(BTYDFit, on_delete=models.CASCADE, related_name="+")
    insufficient_history = models.BooleanField(_("insufficient history"), default=False)
    expected_purchases_12m = models.FloatField(_("expected purchases (12 months)"), null=True)
    p_alive = models.FloatField(_("probability active"), null=True)
    expected_value_12m = models.FloatField(_("expected 12-month value (discounted, JPY)"), null=True)

    class Meta:
        verbose_name = _("customer LTV")
        verbose_name_plural = _("customer LTV")
        indexes = [models.Index(fields=["tenant", "insufficient_history"], name="customerltv_tenant_insuff")]


class RetentionKPI(models.TextChoices):
    SHAKEN = "shaken", _("車検 retention")
    CHECK_12M = "check_12m", _("12-month check retention")
    SERVICE_RETURN = "service_return", _("Service return within 12 months")


class RetentionDimension(models.TextChoices):
    ALL = "all", _("Whole shop")
    STAFF = "staff", _("Assigned staff")
    CHANNEL = "channel", _("Acquisition channel")
    SEGMENT = "segment", _("Segment")


class RetentionMonthly(TenantOwned):
    """One retention KPI of one month for the whole shop or one group (analytics.retention).

    `key` is the group within the dimension: a staff member's id, an acquisition channel or a segment
    code ('' = the whole shop, or customers without one). `pending` counts the eligible ones whose
    window is still open at the refresh (not retained yet, but they still may be).
    """

    kpi = models.CharField(_("KPI"), max_length=20, choices=RetentionKPI.choices)
    dimension = models.CharField(_("by"), max_length=10, choices=RetentionDimension.choices)
    key = models.CharField(_("group"), max_length=40, blank=True)
    month = models.DateField(_("month"))  # always the 1st
    eligible = models.IntegerField(_("eligible"), default=0)
    retained = models.IntegerField(_("retained"), default=0)
    pending = models.IntegerField(_("still open"), default=0)
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("monthly retention")
        verbose_name_plural = _("monthly retention")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "kpi", "dimension", "key", "month"], name="retentionmonthly_unique"
            )
        ]
        ordering = ["kpi", "dimension", "key", "month"]
