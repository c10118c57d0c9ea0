from django.urls import path

from reminders import views
from reminders.postcards import views as postcard_views

app_name = "reminders"

urlpatterns = [
    path("", views.index, name="index"),
    path("rules/", views.rule_list, name="rules"),
    path("rules/new/", views.rule_edit, name="rule_create"),
    path("rules/<int:pk>/", views.rule_edit, name="rule_edit"),
    path("rules/<int:pk>/redraw-holdout/", views.rule_redraw_holdout, name="rule_redraw_holdout"),
    path("templates/", views.template_list, name="templates"),
    path("templates/new/", views.template_edit, name="template_create"),
    path("templates/<int:pk>/", views.template_edit, name="template_edit"),
    path("calls/", views.call_tasks, name="call_tasks"),
    path("outbox/", views.outbox, name="outbox"),
    path("postcards/", postcard_views.batch_list, name="postcards"),
    path("postcards/<int:pk>/", postcard_views.batch_detail, name="postcard_batch"),
    path("postcards/<int:pk>/<slug:kind>.pdf", postcard_views.batch_pdf, name="postcard_pdf"),
    path("postcards/<int:pk>/posted/", postcard_views.batch_post, name="postcard_post"),
    path("postcards/<int:pk>/cancel/", postcard_views.batch_cancel, name="postcard_cancel"),
]
