"""/api/v1/: every app's API routes are registered here (owned by the API work)."""

from django.urls import path, re_path
from rest_framework.routers import DefaultRouter

from analytics import apis as analytics_apis
from bookings.apis import BookingSlotViewSet, BookingViewSet, WorkTypeViewSet
from crm.api.exceptions import UnknownEndpoint
from crm.security.apis import AuditEventViewSet
from crm.tenancy.apis import MembershipViewSet
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
from opportunities.apis import WorklistEntryViewSet
from reminders.apis import ReminderRuleViewSet, ReminderTemplateViewSet, ReminderViewSet
from reminders.campaigns.apis import CampaignViewSet
from results import apis as results_apis

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
router.register("reminder-rules", ReminderRuleViewSet, basename="reminder-rule")
router.register("reminder-templates", ReminderTemplateViewSet, basename="reminder-template")
router.register("reminders", ReminderViewSet, basename="reminder")
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("analytics/rfm", analytics_apis.CustomerRFMViewSet, basename="analytics-rfm")
router.register("bookings", BookingViewSet, basename="booking")
router.register("booking-slots", BookingSlotViewSet, basename="booking-slot")
router.register("work-types", WorkTypeViewSet, basename="work-type")
router.register("members", MembershipViewSet, basename="member")
router.register("audit-events", AuditEventViewSet, basename="audit-event")
router.register("worklist", WorklistEntryViewSet, basename="worklist-entry")

app_name = "api"
urlpatterns: list = [
    *router.urls,
    path("analytics/segments/", analytics_apis.SegmentSummaryView.as_view(), name="analytics-segments"),
    path("analytics/migration/", analytics_apis.MigrationMatrixView.as_view(), name="analytics-migration"),
    path("analytics/ltv/channels/", analytics_apis.LtvByChannelView.as_view(), name="analytics-ltv-channels"),
    path("analytics/ltv/segments/", analytics_apis.LtvBySegmentView.as_view(), name="analytics-ltv-segments"),
    path(
        "analytics/ltv/customers/<str:customer_id>/",
        analytics_apis.CustomerLtvView.as_view(),
        name="analytics-ltv-customer",
    ),
    path("analytics/kpi/", analytics_apis.KpiTreeView.as_view(), name="analytics-kpi"),
    path("analytics/conversion/", analytics_apis.ConversionView.as_view(), name="analytics-conversion"),
    path("analytics/cohorts/", analytics_apis.CohortView.as_view(), name="analytics-cohorts"),
    path("analytics/retention/", analytics_apis.RetentionView.as_view(), name="analytics-retention"),
    path("results/", results_apis.ResultsListView.as_view(), name="results"),
    path("results/<str:rule_id>/", results_apis.ResultsDetailView.as_view(), name="results-detail"),
    # Last: anything else under the API answers in JSON (crm.api.exceptions.UnknownEndpoint).
    re_path(r"", UnknownEndpoint.as_view()),
]
