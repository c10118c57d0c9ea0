from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InteractionsConfig(AppConfig):
    name = "interactions"
    verbose_name = _("Interactions")

    def ready(self):
        from customers.privacy import register_personal_data
        from interactions.privacy import PERSONAL_DATA

        register_personal_data(PERSONAL_DATA)
