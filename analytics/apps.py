from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = _("Analytics")

    def ready(self):
        from analytics.models import CustomerRFM, Segment
        from analytics.privacy import PERSONAL_DATA
        from analytics.selectors import customers_in_segment
        from customers.privacy import register_personal_data
        from customers.segments import SegmentSource, register_segment_source

        # Segments are computed here; the customer record, its API and reminder audiences filter by them.
        register_segment_source(
            SegmentSource(
                choices=lambda: list(Segment.choices), members=customers_in_segment, model=CustomerRFM
            )
        )
        register_personal_data(PERSONAL_DATA)
