from django.contrib import admin

from analytics.models import AnalyticsSettings, BTYDFit, MonthlyKPI
from crm.admin import PlatformAdmin

# Per-customer rows (CustomerRFM, CustomerLTV, SegmentSnapshot) are derived data rebuilt nightly;
# the platform operator only needs the per-tenant settings, fits and monthly figures.
for model in (AnalyticsSettings, BTYDFit, MonthlyKPI):
    admin.site.register(model, PlatformAdmin)
