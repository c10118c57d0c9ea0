"""Results of reminders: the funnel per rule, step, channel and month, and the treated / held-out
comparison per rule (campaigns are rules too, see reminders.Campaign) and month.

Derived data, rebuilt by `results.services.results_refresh` from reminders, bookings, service records
and purchases; it can be dropped and recomputed at any time.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.tenancy.scoping import TenantOwned


class FunnelMonthly(TenantOwned):
    """Reminders of one rule, step and channel due in one month (held-out ones are not in the funnel).

    Each reminder counts once per stage it reached: planned → sent → opened / clicked (where the
    channel can tell) → booked (a booking from its link, not cancelled) → visited (a service record or
    purchase of the customer within the rule's attribution window after the due date) → revenue.
    """

    rule = models.ForeignKey("reminders.ReminderRule", on_delete=models.CASCADE, related_name="+")
    step = models.PositiveSmallIntegerField(_("step"))
    channel = models.CharField(_("channel"), max_length=10, blank=True)
    month = models.DateField(_("month"))  # of the due date, always the 1st
    planned = models.IntegerField(_("planned"), default=0)
    sent = models.IntegerField(_("sent"), default=0)
    opened = models.IntegerField(_("opened"), default=0)
    clicked = models.IntegerField(_("clicked"), default=0)
    booked = models.IntegerField(_("booked"), default=0)
    visited = models.IntegerField(_("visited"), default=0)
    revenue = models.BigIntegerField(_("revenue (JPY)"), default=0)
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("reminder funnel")
        verbose_name_plural = _("reminder funnel")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "rule", "step", "channel", "month"], name="funnelmonthly_unique"
            )
        ]


class UpliftMonthly(TenantOwned):
    """The eligible customers of one rule whose first reminder was due in one month, in one group.

    A customer is held out when every reminder of theirs for the rule is `held_out`, treated otherwise
    (intention to treat: sent or not). Outcome window: first due date … last due date + the rule's
    attribution days. `revenue_sq` is the sum of squared revenue per customer, for Welch's interval.
    """

    rule = models.ForeignKey("reminders.ReminderRule", on_delete=models.CASCADE, related_name="+")
    month = models.DateField(_("month"))
    held_out = models.BooleanField(_("held out"))
    customers = models.IntegerField(_("customers"), default=0)
    visited = models.IntegerField(_("visited"), default=0)
    revenue = models.BigIntegerField(_("revenue (JPY)"), default=0)
    revenue_sq = models.FloatField(default=0.0)
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("reminder uplift")
        verbose_name_plural = _("reminder uplift")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "rule", "month", "held_out"], name="upliftmonthly_unique"
            )
        ]
