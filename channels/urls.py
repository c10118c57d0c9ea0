from django.urls import path

from channels import views

urlpatterns = [
    path("settings/channels/", views.channel_settings, name="channel_settings"),
    path("customers/<int:pk>/channels/", views.customer_channels, name="customer_channels"),
    path("outbox/<str:channel>/", views.outbox_channel, name="outbox_channel"),
]
