"""REST endpoints of analytics: read-only figures from analytics.selectors (RFM, segments, LTV, KPIs).

The same roles as the dashboard: RFM, segments, KPI tree, conversion and cohorts for every member;
migration and LTV for managers and owners (API keys, which act as viewer or staff, do not reach them).
"""

from __future__ import annotations

import math
from datetime import date

from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics import selectors
from analytics.models import CustomerRFM, Segment
from analytics.serializers import (
    CohortQuerySerializer,
    CustomerRFMSerializer,
    KpiQuerySerializer,
    MonthQuerySerializer,
    RetentionQuerySerializer,
)
from crm.api.filters import IdFilter
from crm.api.permissions import TenantRolePermission
from crm.api.viewsets import TenantReadOnlyViewSet
from crm.tenancy.roles import VIEW_ALL_ANALYTICS, Role, role_at_least
from crm.tenancy.selectors import tenant_users


def _json_safe(value):
    """Selector output as strict JSON: NaN/inf (e.g. a ratio of empty months) become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k) if not isinstance(k, str) else k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalars
        return _json_safe(value.tolist())
    return value


class RFMFilter(filters.FilterSet):
    segment = filters.ChoiceFilter(choices=Segment.choices)
    customer = IdFilter("customer_id")
    r_score = filters.NumberFilter(min_value=1, max_value=5)
    f_score = filters.NumberFilter(min_value=1, max_value=5)

    class Meta:
        model = CustomerRFM
        fields = ["segment", "customer", "r_score", "f_score"]


@extend_schema_view(
    list=extend_schema(summary=_("RFM scores and segment per customer"), tags=["analytics"]),
    retrieve=extend_schema(summary=_("RFM scores of one customer (by customer id)"), tags=["analytics"]),
)
class CustomerRFMViewSet(TenantReadOnlyViewSet):
    model = CustomerRFM
    serializer_class = CustomerRFMSerializer
    filterset_class = RFMFilter
    lookup_field = "customer_id"
    lookup_url_kwarg = "customer_id"
    ordering = ("customer_id", "id")
    ordering_fields = ["customer_id", "monetary", "recency_days", "frequency"]
    export_filename = "rfm.csv"


class AnalyticsView(APIView):
    """A read-only figure of the request's tenant, computed by one selector."""

    permission_classes = [TenantRolePermission]
    read_role = Role.VIEWER
    query_serializer = None

    def query(self, request) -> dict:
        if self.query_serializer is None:
            return {}
        params = self.query_serializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        return params.validated_data

    def get(self, request):
        return Response(_json_safe(self.compute(request.tenant, **self.query(request))))

    def compute(self, tenant, **params):  # pragma: no cover - every subclass defines it
        raise NotImplementedError


def _figure(summary, description):
    return extend_schema(
        summary=summary,
        description=description,
        tags=["analytics"],
        responses=OpenApiResponse(OpenApiTypes.OBJECT, description=str(description)),
    )


class SegmentSummaryView(AnalyticsView):
    @_figure(
        _("Segment summary"),
        _("Per RFM segment (every segment, display order): customers, share, revenue and averages."),
    )
    def get(self, request):
        return super().get(request)

    def compute(self, tenant):
        return {
            "computed_at": selectors.rfm_computed_at(tenant=tenant),
            "segments": selectors.segment_summary(tenant=tenant),
        }


class MigrationMatrixView(AnalyticsView):
    read_role = VIEW_ALL_ANALYTICS
    query_serializer = MonthQuerySerializer

    @extend_schema(
        summary=_("Segment migration matrix (managers)"),
        description=_("How many customers moved from segment X (snapshot of from_month) to Y (of to_month)."),
        parameters=[MonthQuerySerializer],
        tags=["analytics"],
        responses=OpenApiResponse(OpenApiTypes.OBJECT),
    )
    def get(self, request):
        return super().get(request)

    def compute(self, tenant, from_month: date, to_month: date):
        return selectors.migration_matrix(tenant=tenant, from_month=from_month, to_month=to_month)


class LtvByChannelView(AnalyticsView):
    read_role = VIEW_ALL_ANALYTICS

    @_figure(
        _("LTV per acquisition channel (managers)"),
        _("Simple LTV, CAC and LTV ÷ CAC per acquisition channel."),
    )
    def get(self, request):
        return super().get(request)

    def compute(self, tenant):
        return {"channels": selectors.ltv_by_channel(tenant=tenant)}


class LtvBySegmentView(AnalyticsView):
    read_role = VIEW_ALL_ANALYTICS

    @_figure(_("LTV per segment (managers)"), _("Simple LTV per RFM segment."))
    def get(self, request):
        return super().get(request)

    def compute(self, tenant):
        return {"segments": selectors.ltv_by_segment(tenant=tenant)}


class CustomerLtvView(AnalyticsView):
    read_role = VIEW_ALL_ANALYTICS

    @extend_schema(
        summary=_("Historical and predicted value of one customer (managers)"),
        tags=["analytics"],
        parameters=[OpenApiParameter("customer_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses=OpenApiResponse(OpenApiTypes.OBJECT),
    )
    def get(self, request, customer_id: str):
        if not (customer_id.isascii() and customer_id.isdigit() and int(customer_id) < 2**63):
            raise exceptions.NotFound()
        return Response(
            _json_safe(selectors.customer_ltv_get(tenant=request.tenant, customer_id=int(customer_id)))
        )


class KpiTreeView(AnalyticsView):
    query_serializer = KpiQuerySerializer

    @extend_schema(
        summary=_("KPI tree by month"),
        description=_(
            "Sales = customers × frequency × unit price per month, with new/returning/churned customers "
            "and the LMDI split of each change. `staff` (managers only) limits it to one staff member's "
            "customers."
        ),
        parameters=[KpiQuerySerializer],
        tags=["analytics"],
        responses=OpenApiResponse(OpenApiTypes.OBJECT),
    )
    def get(self, request):
        return super().get(request)

    def compute(self, tenant, months: int, staff: int | None = None):
        if staff is not None:
            if not role_at_least(
                self.request.membership.role if self.request.membership else Role.VIEWER, VIEW_ALL_ANALYTICS
            ):
                raise exceptions.PermissionDenied()
            if not tenant_users(tenant=tenant).filter(pk=staff).exists():
                raise exceptions.ValidationError({"staff": [_("Select a member of this shop.")]})
        return {"months": selectors.kpi_tree(tenant=tenant, months=months, staff_id=staff)}


class ConversionView(AnalyticsView):
    @_figure(_("Conversion funnel"), _("New → repeat → loyal customers, with median days between stages."))
    def get(self, request):
        return super().get(request)

    def compute(self, tenant):
        return selectors.conversion_funnel(tenant=tenant)


class CohortView(AnalyticsView):
    query_serializer = CohortQuerySerializer

    @extend_schema(
        summary=_("Cohort retention"),
        description=_("Cohorts by first-purchase month: size and the share buying again k months later."),
        parameters=[CohortQuerySerializer],
        tags=["analytics"],
        responses=OpenApiResponse(OpenApiTypes.OBJECT),
    )
    def get(self, request):
        return super().get(request)

    def compute(self, tenant, months: int):
        return {"cohorts": selectors.cohort_retention(tenant=tenant, months=months)}


class RetentionView(AnalyticsView):
    query_serializer = RetentionQuerySerializer

    @extend_schema(
        summary=_("Retention KPIs"),
        description=_(
            "車検 retention, 12-month check retention and service return within 12 months "
            "(docs/analytics.md): by month for the whole shop, or summed over the last `months` months "
            "per assigned staff (managers only), acquisition channel or segment. A rate is retained ÷ "
            "(eligible − still open)."
        ),
        parameters=[RetentionQuerySerializer],
        tags=["analytics"],
        responses=OpenApiResponse(OpenApiTypes.OBJECT),
    )
    def get(self, request):
        return super().get(request)

    def compute(self, tenant, months: int, dimension: str):
        base = {"computed_at": selectors.retention_computed_at(tenant=tenant), "dimension": dimension}
        if dimension == "all":
            return {**base, "months": selectors.retention_series(tenant=tenant, months=months)}
        if dimension == "staff" and not role_at_least(
            self.request.membership.role if self.request.membership else Role.VIEWER, VIEW_ALL_ANALYTICS
        ):
            raise exceptions.PermissionDenied()
        groups = selectors.retention_by_group(tenant=tenant, dimension=dimension, months=months)
        return {**base, "groups": groups}
