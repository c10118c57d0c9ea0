"""URLs of LINE inbound under /line/: the public webhook and link page, and the staff pages."""

from django.urls import path

from channels import line_views

app_name = "line"

urlpatterns = [
    # Public (no login): LINE's servers and the customer's phone.
    path("webhook/<str:key>/", line_views.line_webhook, name="webhook"),
    path("link/<str:token>/", line_views.line_link_page, name="link_page"),
    # Staff.
    path("inbox/", line_views.line_inbox, name="inbox"),
    path("counter-qr/", line_views.line_counter_qr, name="counter_qr"),
    path("messages/<int:pk>/done/", line_views.line_message_done, name="message_done"),
    path("customers/<int:pk>/link-code/", line_views.line_link_code, name="link_code"),
    path("customers/<int:pk>/link-contact/", line_views.line_link_contact, name="link_contact"),
    path("customers/<int:pk>/reply/", line_views.line_reply, name="reply"),
]
