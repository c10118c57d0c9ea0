from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from crm.api import views as api_views
from crm.security import twofactor
from crm.security import views as security_views
from crm.tenancy import views as tenancy_views
from customers import urls as customers_urls
from workspace import urls as workspace_urls

# Redoc styles itself with injected <style> elements and searches in a blob: worker: the one page
# whose policy allows inline styles (scripts stay 'self' only).
API_REDOC = csp_update({"style-src": [UNSAFE_INLINE], "worker-src": ["blob:"]})(
    SpectacularRedocView.as_view(url_name="api-schema", template_name="crm/api_docs_redoc.html")
)

urlpatterns = [
    path("admin/login/", twofactor.admin_login),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/login/", security_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/login/verify/", twofactor.login_otp, name="login_otp"),
    path("accounts/two-factor/", twofactor.two_factor, name="two_factor"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("tenants/", tenancy_views.tenant_picker, name="tenant_picker"),
    path("settings/", tenancy_views.settings_profile, name="settings_profile"),
    path("settings/members/", tenancy_views.settings_members, name="settings_members"),
    path("settings/members/<int:pk>/role/", tenancy_views.settings_member_role, name="settings_member_role"),
    path(
        "settings/members/<int:pk>/remove/",
        tenancy_views.settings_member_remove,
        name="settings_member_remove",
    ),
    path("settings/api-keys/", api_views.settings_api_keys, name="settings_api_keys"),
    path(
        "settings/api-keys/<int:pk>/revoke/",
        api_views.settings_api_key_revoke,
        name="settings_api_key_revoke",
    ),
    path("settings/", include(customers_urls.settings_patterns)),  # handover
    path("settings/audit/", security_views.settings_audit, name="settings_audit"),
    path("api/v1/", include("crm.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="crm/api_docs_swagger.html"),
        name="api-docs",
    ),
    path("api/docs/redoc/", API_REDOC, name="api-redoc"),
    # A namespace is what the user sees; the views behind it may live in the layer that composes apps.
    path("customers/", include((customers_urls.urlpatterns + workspace_urls.customer_patterns, "customers"))),
    path("reminders/", include("reminders.urls")),
    path("campaigns/", include("reminders.campaigns.urls")),
    path("results/", include("results.urls")),
    path("u/", include("reminders.public_urls")),  # public unsubscribe links (no login)
    path("s/", include("channels.public_urls")),  # public short links of SMS (no login)
    path("line/", include("channels.line_urls")),  # LINE webhook and link page (public), LINE inbox
    path("analytics/replacement-model/", include("opportunities.validation_urls")),  # before analytics' slugs
    path("analytics/", include("analytics.urls")),
    path("", include("channels.urls")),
    path("bookings/", include("bookings.urls")),
    path("worklist/", include("opportunities.urls")),  # this week's list (issue #17)
    path("b/", include("bookings.public_urls")),  # public booking pages (no login, signed links)
    path("", include(workspace_urls.root_patterns)),
    path("", include("interactions.urls")),
]
