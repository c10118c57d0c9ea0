from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ResultsConfig(AppConfig):
    """Did it bring customers back? The reminder funnel per rule, step and channel, and the uplift of
    each rule and campaign measured against its randomized holdout."""

    name = "results"
    verbose_name = _("Results")
