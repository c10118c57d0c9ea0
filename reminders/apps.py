from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.utils.translation import gettext_lazy as _

from crm.tenancy.onboarding import register_tenant_defaults


class RemindersConfig(AppConfig):
    name = "reminders"
    verbose_name = _("Reminders")

    def ready(self):
        # Imported here, not at the top: these load models, which need the app registry.
        from customers.privacy import register_personal_data
        from reminders import services
        from reminders.holdout import register_sqlite_function
        from reminders.privacy import PERSONAL_DATA
        from reminders.sending import channels as channel_send

        register_personal_data(PERSONAL_DATA)
        # A new shop starts with the default rules and templates: the tenancy core's onboarding runs this.
        register_tenant_defaults(self.label, services.reminder_defaults_create)
        # LINE and SMS rows of a send batch go to reminders.sending.channels; the SMS short link "u".
        channel_send.register()
        # The holdout hash as an SQLite function (PostgreSQL computes it inline): reminders.holdout.
        connection_created.connect(register_sqlite_function, dispatch_uid="reminders.holdout")
