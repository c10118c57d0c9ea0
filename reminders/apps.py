from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RemindersConfig(AppConfig):
    name = "reminders"
    verbose_name = _("Reminders")

    def ready(self):
        from customers.privacy import register_personal_data
        from reminders.privacy import PERSONAL_DATA

        register_personal_data(PERSONAL_DATA)
