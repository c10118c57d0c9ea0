from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpportunitiesConfig(AppConfig):
    """Whom to call this week and why: replacement (代替) propensity per owned vehicle, leaving risk
    per valuable customer, and the weekly list per staff member built from both."""

    name = "opportunities"
    verbose_name = _("Opportunities")

    def ready(self):
        from customers.privacy import register_personal_data
        from opportunities.privacy import PERSONAL_DATA

        register_personal_data(PERSONAL_DATA)
