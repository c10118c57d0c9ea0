from django.urls import path

from reminders.campaigns import views

app_name = "campaigns"

urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("new/", views.campaign_edit, name="create"),
    path("settings/", views.campaign_settings, name="settings"),
    path("<int:pk>/", views.campaign_detail, name="detail"),
    path("<int:pk>/edit/", views.campaign_edit, name="edit"),
    path("<int:pk>/submit/", views.campaign_submit, name="submit"),
    path("<int:pk>/approve/", views.campaign_approve, name="approve"),
    path("<int:pk>/cancel/", views.campaign_cancel, name="cancel"),
]
