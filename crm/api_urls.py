"""/api/v1/: every app's API routes are registered here (owned by the API work)."""

from rest_framework.routers import DefaultRouter

router = DefaultRouter()
router.include_root_view = False

urlpatterns: list = [*router.urls]
