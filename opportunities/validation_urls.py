from django.urls import path

from opportunities import validation_views

app_name = "opportunities_model"

urlpatterns = [path("", validation_views.replacement_model, name="index")]
