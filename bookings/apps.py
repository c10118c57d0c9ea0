from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from crm.tenancy.onboarding import register_tenant_defaults


class BookingsConfig(AppConfig):
    name = "bookings"
    verbose_name = _("Bookings")

    def ready(self):
        # Imported here, not at the top: these load models, which need the app registry.
        from bookings import services
        from bookings.privacy import PERSONAL_DATA
        from customers.privacy import register_personal_data

        register_personal_data(PERSONAL_DATA)
        # A new shop can take bookings at once: opening hours, settings and the five default work
        # types (the tenancy core's onboarding runs this; it does nothing for a shop that has them).
        register_tenant_defaults(self.label, services.booking_defaults_create)
