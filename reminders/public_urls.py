"""Public pages (no login): the one-click unsubscribe link from every reminder e-mail."""

from django.urls import path

from reminders import views

urlpatterns = [
    path("<str:token>/", views.unsubscribe, name="unsubscribe"),
]
