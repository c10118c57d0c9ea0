from django.urls import path

from interactions import views

urlpatterns = [
    path("deals/", views.deal_board, name="deals"),
    path("deals/<int:pk>/move/", views.deal_move_view, name="deal_move"),
]
