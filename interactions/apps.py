from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from crm.tenancy.handover import register_member_work


class InteractionsConfig(AppConfig):
    name = "interactions"
    verbose_name = _("Interactions")

    def ready(self):
        # Imported here, not at the top: these load models, which need the app registry.
        from customers.privacy import register_personal_data
        from interactions import selectors, services
        from interactions.privacy import PERSONAL_DATA

        register_personal_data(PERSONAL_DATA)
        # A member's open deals and open calls, counted and handed over by the tenancy core.
        register_member_work(
            self.label,
            "open_deals",
            count=selectors.open_deals_count,
            reassign=services.open_deals_reassign,
            moved_key="deals_moved",
        )
        register_member_work(
            self.label,
            "open_calls",
            count=selectors.open_call_tasks_count,
            reassign=services.open_call_tasks_reassign,
            moved_key="calls_moved",
        )
