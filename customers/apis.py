"""REST endpoints of the customer record: customers, households, vehicles, purchases, service records."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from crm.api.authentication import ApiKeyUser
from crm.api.filters import IdFilter, IntegerFilter, UpdatedSinceFilterSet
from crm.api.permissions import effective_role
from crm.api.viewsets import (
    ExternalRefUpsertMixin,
    TenantGenericViewSet,
    TenantModelViewSet,
    TenantReadOnlyViewSet,
)
from crm.common.csvsafe import csv_response
from crm.common.errors import ApplicationError
from crm.common.services import model_update
from crm.tenancy.roles import Role, role_at_least
from customers import services
from customers.imports import run_import
from customers.imports.enqueue import import_job_create
from customers.models import (
    Consent,
    Customer,
    CustomerTag,
    Household,
    ImportJob,
    Purchase,
    PurchaseCategory,
    ServiceKind,
    ServiceRecord,
    Vehicle,
    VehicleStatus,
)
from customers.privacy import (
    ErasureReason,
    customer_erase,
    customer_export_personal_data,
    personal_data_csv_rows,
)
from customers.segments import customers_in_segment
from customers.selectors import customer_search
from customers.serializers import (
    CustomerSerializer,
    HouseholdSerializer,
    ImportJobSerializer,
    ImportReportSerializer,
    ImportRequestSerializer,
    PurchaseCategorySerializer,
    PurchaseSerializer,
    ServiceRecordSerializer,
    VehicleSerializer,
)


class ErasureRequestSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=ErasureReason.choices, default=ErasureReason.CUSTOMER_REQUEST)
    confirm = serializers.BooleanField(help_text=_("Must be true: erasure cannot be undone."))

    def validate_confirm(self, value):
        if value is not True:
            raise serializers.ValidationError(_("Set confirm to true: erasure cannot be undone."))
        return value


# --- filters ---------------------------------------------------------------------------------------
class CustomerFilter(UpdatedSinceFilterSet):
    q = filters.CharFilter(
        method="filter_q", help_text=_("Free text: name, furigana, phone, e-mail, plate number.")
    )
    tag = filters.CharFilter(method="filter_tag", help_text=_("Customers with this tag (name)."))
    segment = filters.CharFilter(
        method="filter_segment", help_text=_("Customers in this RFM segment (segment code).")
    )
    assigned_staff = IdFilter("assigned_staff_id", help_text=_("Staff user id."))
    birthday_month = IntegerFilter(
        field_name="birthday",
        lookup_expr="month",
        min_value=1,
        max_value=12,
        help_text=_("Birthday month, 1–12."),
    )
    consent = filters.ChoiceFilter(choices=Consent.choices)
    household = IdFilter("household_id")
    external_ref = filters.CharFilter()

    class Meta:
        model = Customer
        fields = ["updated_since", "q", "tag", "segment", "assigned_staff", "birthday_month", "consent"]

    def filter_q(self, queryset, name, value):
        matches = customer_search(tenant=self.request.tenant, q=value)
        return queryset.filter(pk__in=matches.values("pk"))

    def filter_tag(self, queryset, name, value):
        tagged = CustomerTag.objects.for_tenant(self.request.tenant).filter(tag__name=value)
        return queryset.filter(pk__in=tagged.values("customer_id"))

    def filter_segment(self, queryset, name, value):
        members = customers_in_segment(tenant=self.request.tenant, segment=value)
        return queryset.filter(pk__in=members.values("pk"))


class VehicleFilter(UpdatedSinceFilterSet):
    inspection_expiry = filters.DateFromToRangeFilter(
        help_text=_("車検 expiry range: inspection_expiry_after / inspection_expiry_before (inclusive).")
    )
    customer = IdFilter("customer_id")
    status = filters.ChoiceFilter(choices=VehicleStatus.choices)
    plate_number = filters.CharFilter(lookup_expr="icontains")
    external_ref = filters.CharFilter()

    class Meta:
        model = Vehicle
        fields = ["updated_since", "inspection_expiry", "customer", "status", "plate_number"]


class PurchaseFilter(UpdatedSinceFilterSet):
    date = filters.DateFromToRangeFilter(help_text=_("Date range: date_after / date_before (inclusive)."))
    category = filters.CharFilter(field_name="category__code", help_text=_("Category code."))
    customer = IdFilter("customer_id")
    vehicle = IdFilter("vehicle_id")
    is_refund = filters.BooleanFilter()
    external_ref = filters.CharFilter()

    class Meta:
        model = Purchase
        fields = ["updated_since", "date", "category", "customer", "vehicle", "is_refund"]


class ServiceRecordFilter(UpdatedSinceFilterSet):
    date = filters.DateFromToRangeFilter(help_text=_("Date range: date_after / date_before (inclusive)."))
    next_due = filters.DateFromToRangeFilter()
    kind = filters.ChoiceFilter(choices=ServiceKind.choices)
    customer = IdFilter("customer_id")
    vehicle = IdFilter("vehicle_id")
    external_ref = filters.CharFilter()

    class Meta:
        model = ServiceRecord
        fields = ["updated_since", "date", "next_due", "kind", "customer", "vehicle"]


class HouseholdFilter(UpdatedSinceFilterSet):
    name = filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Household
        fields = ["updated_since", "name"]


# --- viewsets --------------------------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(summary=_("List customers")),
    retrieve=extend_schema(summary=_("Read a customer")),
    create=extend_schema(summary=_("Create a customer")),
    update=extend_schema(summary=_("Replace a customer")),
    partial_update=extend_schema(summary=_("Update some fields of a customer")),
    destroy=extend_schema(summary=_("Delete a customer and everything recorded about them")),
)
class CustomerViewSet(ExternalRefUpsertMixin, TenantModelViewSet):
    model = Customer
    serializer_class = CustomerSerializer
    filterset_class = CustomerFilter
    ordering_fields = ["updated_at", "created_at", "id", "family_name_kana", "birthday"]
    export_filename = "customers.csv"

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        consent = data.pop("consent", Consent.UNKNOWN)
        source = data.pop("consent_source", "") or "api"
        tags = data.pop("tags", None)
        serializer.instance = services.customer_create(
            tenant=self.tenant, tags=tags, consent=consent, consent_source=source, **data
        )

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        consent = data.pop("consent", None)
        source = data.pop("consent_source", None)
        customer = services.customer_update(tenant=self.tenant, customer=serializer.instance, data=data)
        if consent is not None and consent != customer.consent:
            customer = services.customer_set_consent(
                tenant=self.tenant, customer=customer, consent=consent, source=source or "api"
            )
        serializer.instance = self.get_queryset().get(pk=customer.pk)

    # --- APPI requests ---
    def _require_role(self, role: str) -> None:
        current = effective_role(self.request)
        if current is None or not role_at_least(current, role):
            raise PermissionDenied()

    @extend_schema(
        summary=_("Everything held about one customer (APPI disclosure; managers and owners)"),
        parameters=[
            OpenApiParameter(
                "as", OpenApiTypes.STR, enum=["json", "csv"], description=_("json (default) or csv")
            )
        ],
        responses={(200, "application/json"): OpenApiTypes.OBJECT, (200, "text/csv"): OpenApiTypes.STR},
    )
    @action(detail=True, methods=["get"], url_path="personal-data", pagination_class=None)
    def personal_data(self, request, *args, **kwargs):
        self._require_role(Role.MANAGER)
        customer = self.get_object()
        data = customer_export_personal_data(tenant=self.tenant, customer=customer, request=request)
        if request.query_params.get("as") == "csv":
            return csv_response(personal_data_csv_rows(data), f"customer-{customer.pk}-personal-data.csv")
        return Response(data)

    @extend_schema(
        summary=_("Erase a customer's personal data (APPI; owners only, irreversible)"),
        request=ErasureRequestSerializer,
        responses={200: CustomerSerializer},
    )
    @action(detail=True, methods=["post"], url_path="erase")
    def erase(self, request, *args, **kwargs):
        self._require_role(Role.OWNER)
        customer = self.get_object()
        body = ErasureRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            customer = customer_erase(
                tenant=self.tenant, customer=customer, actor=None, reason=body.validated_data["reason"]
            )
        except ApplicationError as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        return Response(self.get_serializer(self.get_queryset().get(pk=customer.pk)).data)


@extend_schema_view(
    list=extend_schema(summary=_("List households")),
    create=extend_schema(summary=_("Create a household")),
)
class HouseholdViewSet(TenantModelViewSet):
    model = Household
    serializer_class = HouseholdSerializer
    filterset_class = HouseholdFilter
    ordering_fields = ["updated_at", "id", "name"]
    export_filename = "households.csv"

    def perform_create(self, serializer):
        serializer.instance = services.household_create(tenant=self.tenant, **serializer.validated_data)

    def perform_update(self, serializer):
        model_update(instance=serializer.instance, fields=["name", "notes"], data=serializer.validated_data)


@extend_schema_view(
    list=extend_schema(summary=_("List vehicles")),
    create=extend_schema(summary=_("Register a vehicle")),
)
class VehicleViewSet(ExternalRefUpsertMixin, TenantModelViewSet):
    model = Vehicle
    serializer_class = VehicleSerializer
    filterset_class = VehicleFilter
    ordering_fields = ["updated_at", "id", "inspection_expiry", "plate_number"]
    export_filename = "vehicles.csv"

    def scope_queryset(self, queryset):
        return queryset.select_related("customer")

    def perform_create(self, serializer):
        serializer.instance = services.vehicle_create(tenant=self.tenant, **serializer.validated_data)

    def perform_update(self, serializer):
        services.vehicle_update(
            tenant=self.tenant, vehicle=serializer.instance, data=serializer.validated_data
        )


@extend_schema_view(
    list=extend_schema(summary=_("List purchases")),
    create=extend_schema(summary=_("Record a purchase (a refund is a negative amount with is_refund)")),
)
class PurchaseViewSet(ExternalRefUpsertMixin, TenantModelViewSet):
    model = Purchase
    serializer_class = PurchaseSerializer
    filterset_class = PurchaseFilter
    ordering_fields = ["updated_at", "id", "date", "amount"]
    export_filename = "purchases.csv"

    def scope_queryset(self, queryset):
        return queryset.select_related("customer", "vehicle", "category")

    def perform_create(self, serializer):
        serializer.instance = services.purchase_create(tenant=self.tenant, **serializer.validated_data)

    def perform_update(self, serializer):
        model_update(
            instance=serializer.instance, fields=services.PURCHASE_FIELDS, data=serializer.validated_data
        )


@extend_schema_view(
    list=extend_schema(summary=_("List service records")),
    create=extend_schema(summary=_("Record a service (a 車検 moves the vehicle's inspection expiry)")),
)
class ServiceRecordViewSet(ExternalRefUpsertMixin, TenantModelViewSet):
    model = ServiceRecord
    serializer_class = ServiceRecordSerializer
    filterset_class = ServiceRecordFilter
    ordering_fields = ["updated_at", "id", "date", "next_due"]
    export_filename = "service_records.csv"

    def scope_queryset(self, queryset):
        return queryset.select_related("customer", "vehicle")

    def perform_create(self, serializer):
        serializer.instance = services.service_record_create(tenant=self.tenant, **serializer.validated_data)

    def perform_update(self, serializer):
        model_update(
            instance=serializer.instance, fields=services.SERVICE_FIELDS, data=serializer.validated_data
        )


@extend_schema_view(list=extend_schema(summary=_("List the shop's purchase categories")))
class PurchaseCategoryViewSet(TenantReadOnlyViewSet):
    """The tenant's purchase categories: their codes are what purchases name in `category`."""

    model = PurchaseCategory
    serializer_class = PurchaseCategorySerializer
    pagination_class = None
    filter_backends = []
    ordering = ("id",)


SYNC_IMPORT_MAX_BYTES = 2 * 1024 * 1024  # ~10,000 rows: answered at once; larger files become a job


@extend_schema_view(
    list=extend_schema(summary=_("List CSV import jobs")),
    retrieve=extend_schema(summary=_("Read an import job: status, progress and report")),
)
class ImportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantGenericViewSet):
    """CSV import of customers, vehicles, purchases or service records (the dashboard's import)."""

    model = ImportJob
    serializer_class = ImportJobSerializer
    parser_classes = [MultiPartParser, FormParser]
    ordering = ("created_at", "id")
    ordering_fields = ["created_at", "id"]
    filterset_fields = ["kind", "status"]

    def body_size_limit(self) -> int:
        return settings.KIZUNA_IMPORT_MAX_BYTES

    @extend_schema(
        summary=_("Import a CSV"),
        description=_(
            "Small files (up to 2 MB) and dry runs are imported at once: 200 with the report, or 400 "
            "with the report when rows are invalid and nothing was written. Larger files are queued: "
            "202 with the job; poll it for progress and the report."
        ),
        request={"multipart/form-data": ImportRequestSerializer},
        responses={200: ImportReportSerializer, 202: ImportJobSerializer},
    )
    def create(self, request, *args, **kwargs):
        body = ImportRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        upload = body.validated_data["file"]
        options = {"kind": body.validated_data["kind"], "skip_invalid": body.validated_data["skip_invalid"]}
        if upload.size > SYNC_IMPORT_MAX_BYTES and not body.validated_data["dry_run"]:
            person = None if isinstance(request.user, ApiKeyUser) else request.user
            job = import_job_create(tenant=self.tenant, upload=upload, created_by=person, **options)
            return Response(ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
        report = run_import(
            tenant=self.tenant, fileobj=upload, dry_run=body.validated_data["dry_run"], **options
        )
        written_nothing = report.errors and (not options["skip_invalid"] or report.rows_imported == 0)
        code = status.HTTP_400_BAD_REQUEST if written_nothing else status.HTTP_200_OK
        return Response(ImportReportSerializer(report).data, status=code)
