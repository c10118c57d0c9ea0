from django.urls import path

from results import views

app_name = "results"

urlpatterns = [
    path("", views.index, name="index"),
    path("refresh/", views.refresh, name="refresh"),
    path("<int:pk>/", views.detail, name="detail"),
]
