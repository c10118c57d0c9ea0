from django.urls import path

from bookings import views

app_name = "bookings"

urlpatterns = [
    path("", views.calendar, name="calendar"),
    path("new/", views.booking_new, name="new"),
    path("capacity/", views.capacity, name="capacity"),
    path("<int:pk>/move/", views.booking_move, name="move"),
    path("<int:pk>/done/", views.booking_done, name="done"),
    path("<int:pk>/<slug:action>/", views.booking_action, name="action"),
]
