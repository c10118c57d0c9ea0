from django.urls import path

from opportunities import views

app_name = "worklist"

urlpatterns = [
    path("", views.worklist, name="index"),
    path("refresh/", views.worklist_refresh_view, name="refresh"),
    path("settings/", views.worklist_settings_view, name="settings"),
    path("<int:pk>/<slug:action>/", views.worklist_action, name="action"),
]
