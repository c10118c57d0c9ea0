"""Public short links (no login): /s/<token> from SMS messages."""

from django.urls import path

from channels import views

urlpatterns = [
    path("<str:token>", views.short_link, name="short_link"),
]
