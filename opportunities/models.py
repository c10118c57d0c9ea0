"""The scores the weekly list is built from. The scoring job (opportunities.scoring) replaces a shop's
rows set-based; `facts` keeps the inputs of the reason text, so it is rendered in the reader's language
(opportunities.reasons) and the list can say why without recomputing anything."""

from django.db import models
from django.utils.translation import gettext_lazy as _

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
        indexes = [models.Index(fields=["tenant", "-expected_value"], name="replscore_tenant_value")]


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
