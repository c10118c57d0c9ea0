"""Routes of the customer record's own pages. Customer 360 and its quick actions join this namespace
from workspace/urls.py (see crm/urls.py)."""

from django.urls import path, re_path

from customers import handover_views, privacy_views, views

urlpatterns = [
    path("", views.customer_list, name="list"),
    path("new/", views.customer_create_view, name="create"),
    path("bulk/", views.customer_bulk, name="bulk"),
    path("<int:pk>/edit/", views.customer_edit, name="edit"),
    path("<int:pk>/privacy/", privacy_views.customer_privacy, name="privacy"),
    re_path(
        r"^(?P<pk>[0-9]+)/personal-data\.(?P<fmt>json|csv)$",
        privacy_views.customer_personal_data,
        name="personal_data",
    ),
    path("vehicles/", views.vehicle_list, name="vehicles"),
    path("vehicles/<int:pk>/", views.vehicle_detail, name="vehicle"),
    path("import/", views.import_upload, name="import"),
    path("import/<slug:token>/", views.import_check, name="import_check"),
    path("import/<slug:token>/run/", views.import_run, name="import_run"),
    path("import/jobs/<int:pk>/", views.import_job, name="import_job"),
]

# The shop's settings area (crm/urls.py mounts these under settings/, outside this app's namespace).
settings_patterns = [
    path("handover/", handover_views.settings_handover, name="settings_handover"),
]
