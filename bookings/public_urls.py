"""Public booking pages (no login), under /b/: from a reminder, from the shop link, a booking's link."""

from django.urls import path

from bookings import public_views

app_name = "bookings_public"

urlpatterns = [
    path("r/<str:token>/", public_views.book_from_reminder, name="from_reminder"),
    path("s/<str:token>/", public_views.book_from_shop_link, name="shop"),
    path("m/<str:token>/", public_views.manage, name="manage"),
]
