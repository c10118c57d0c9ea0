from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from crm.tenancy.handover import register_handover_recorder, register_member_work
from crm.tenancy.onboarding import register_tenant_defaults


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self):
        # Imported here, not at the top: these load models, which need the app registry.
        from customers import selectors, services

        # The tenancy core sits below this app and cannot import it: it calls these through its registries.
        register_tenant_defaults(self.label, services.purchase_categories_create_defaults)
        register_member_work(
            self.label,
            "customers",
            count=selectors.customers_assigned_count,
            reassign=services.customers_reassign,
        )
        register_handover_recorder(self.label, services.member_handover_record)
