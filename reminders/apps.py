from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from crm.tenancy.onboarding import register_tenant_defaults


class RemindersConfig(AppConfig):
    name = "reminders"
    verbose_name = _("Reminders")

    def ready(self):
        # A new shop starts with the default rules and templates: the tenancy core's onboarding calls
        # this. (Imported here, not at the top: services load models, which need the app registry.)
        from reminders import services

        register_tenant_defaults(self.label, services.reminder_defaults_create)
