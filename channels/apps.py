from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChannelsConfig(AppConfig):
    name = "channels"
    label = "channels"
    verbose_name = _("Channels")

    def ready(self):
        # Imported here, not at the top: these load models, which need the app registry.
        from channels import line_privacy
        from channels.privacy import PERSONAL_DATA
        from customers.privacy import register_personal_data

        register_personal_data(PERSONAL_DATA)
        register_personal_data(line_privacy.PERSONAL_DATA)
