from django.urls import path

from analytics import views

app_name = "analytics"

urlpatterns = [
    path("", views.index, name="index"),
    path("segment-map/", views.segment_map_edit, name="segment_map"),
    path("segments/<slug:segment>/export.csv", views.segment_export, name="segment_export"),
    path("<slug:name>/", views.section, name="section"),
]
