"""/api/v1/: every app's API routes are registered here (owned by the API work)."""

from rest_framework.routers import DefaultRouter

from crm.apis import MembershipViewSet
from customers.apis import (
    CustomerViewSet,
    HouseholdViewSet,
    ImportViewSet,
    PurchaseCategoryViewSet,
    PurchaseViewSet,
    ServiceRecordViewSet,
    VehicleViewSet,
)
from interactions.apis import CallTaskViewSet, DealViewSet, InteractionViewSet

router = DefaultRouter()
router.include_root_view = False
router.register("customers", CustomerViewSet, basename="customer")
router.register("households", HouseholdViewSet, basename="household")
router.register("vehicles", VehicleViewSet, basename="vehicle")
router.register("purchases", PurchaseViewSet, basename="purchase")
router.register("purchase-categories", PurchaseCategoryViewSet, basename="purchase-category")
router.register("service-records", ServiceRecordViewSet, basename="service-record")
router.register("interactions", InteractionViewSet, basename="interaction")
router.register("deals", DealViewSet, basename="deal")
router.register("call-tasks", CallTaskViewSet, basename="call-task")
router.register("imports", ImportViewSet, basename="import")
router.register("members", MembershipViewSet, basename="member")

app_name = "api"
urlpatterns: list = [*router.urls]
