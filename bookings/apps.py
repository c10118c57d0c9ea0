from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BookingsConfig(AppConfig):
    name = "bookings"
    verbose_name = _("Bookings")

    def ready(self):
        from bookings.privacy import PERSONAL_DATA
        from customers.privacy import register_personal_data

        register_personal_data(PERSONAL_DATA)
