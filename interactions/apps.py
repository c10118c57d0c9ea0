from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from crm.tenancy.handover import register_member_work


class InteractionsConfig(AppConfig):
    name = "interactions"
    verbose_name = _("Interactions")

    def ready(self):
        # A member's open deals and open calls, counted and handed over by the tenancy core through its
        # registry. (Imported here, not at the top: services load models, which need the app registry.)
        from interactions import selectors, services

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
