"""/api/v1/: every app's API routes are registered here (owned by the API work)."""

urlpatterns: list = []
