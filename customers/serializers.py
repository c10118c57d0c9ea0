"""REST serializers of the customer record. Related fields accept only the request tenant's rows."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from crm.api.fields import TenantRelatedField, TenantSlugRelatedField, TenantUserField
from crm.api.serializers import TenantModelSerializer
from customers.models import (
    Consent,
    Customer,
    CustomerTag,
    Household,
    ImportJob,
    ImportKind,
    Purchase,
    PurchaseCategory,
    ServiceRecord,
    Vehicle,
)
from customers.services import CUSTOMER_FIELDS, VEHICLE_FIELDS

TIMESTAMPS = ("id", "created_at", "updated_at")


class HouseholdSerializer(TenantModelSerializer):
    class Meta:
        model = Household
        fields = ["id", "name", "notes", "created_at", "updated_at"]
        read_only_fields = TIMESTAMPS


class TagListField(serializers.ListField):
    """Tags as a list of names: written as names, read from the customer's (prefetched) tags."""

    def get_attribute(self, instance):
        names = getattr(instance, "_tag_names", None)
        if names is None:  # a single customer: one query
            links = CustomerTag.objects.for_tenant(instance.tenant_id).filter(customer=instance)
            names = sorted(links.values_list("tag__name", flat=True))
        return names

    def to_representation(self, data):
        return list(data)


class CustomerListSerializer(serializers.ListSerializer):
    """Loads the tags of a whole page in one query (Django's prefetch builds a queryset per row)."""

    def to_representation(self, data):
        customers = list(data.all() if hasattr(data, "all") else data)
        if customers:
            tenant_id = customers[0].tenant_id
            names: dict[int, list[str]] = {c.pk: [] for c in customers}
            rows = (
                CustomerTag.objects.for_tenant(tenant_id)
                .filter(customer_id__in=list(names))
                .order_by("tag__name")
                .values_list("customer_id", "tag__name")
            )
            for customer_id, name in rows:
                names[customer_id].append(name)
            for customer in customers:
                customer._tag_names = names[customer.pk]
        return super().to_representation(customers)


class CustomerSerializer(TenantModelSerializer):
    household = TenantRelatedField(model=Household, allow_null=True, required=False)
    assigned_staff = TenantUserField(allow_null=True, required=False)
    consent = serializers.ChoiceField(choices=Consent.choices, required=False)
    tags = TagListField(
        child=serializers.CharField(max_length=50),
        required=False,
        help_text=_("Tag names; on write, the customer's tags are replaced by this list."),
    )

    class Meta:
        model = Customer
        list_serializer_class = CustomerListSerializer
        fields = [
            "id",
            *CUSTOMER_FIELDS,
            "consent",
            "consent_at",
            "consent_source",
            "opted_out_at",
            "tags",
            "created_at",
            "updated_at",
        ]
        read_only_fields = (*TIMESTAMPS, "consent_at", "opted_out_at")


class _CustomerRefMixin(serializers.Serializer):
    """Rows name their customer by id (`customer`) or by the integration's id (`customer_external_ref`)."""

    def _resolve_customer(self, attrs):
        by_ref = attrs.pop("customer_external_ref", None)
        if by_ref is not None:
            if attrs.get("customer") not in (None, by_ref):
                raise serializers.ValidationError(
                    {
                        "customer_external_ref": _(
                            "customer and customer_external_ref name different customers."
                        )
                    }
                )
            attrs["customer"] = by_ref
        if self.instance is None and not attrs.get("customer"):
            raise serializers.ValidationError({"customer": _("Give customer or customer_external_ref.")})
        return attrs

    def _resolve_vehicle(self, attrs):
        by_ref = attrs.pop("vehicle_external_ref", None)
        if by_ref is not None:
            if attrs.get("vehicle") not in (None, by_ref):
                raise serializers.ValidationError(
                    {"vehicle_external_ref": _("vehicle and vehicle_external_ref name different vehicles.")}
                )
            attrs["vehicle"] = by_ref
        return attrs


def customer_field():
    return TenantRelatedField(model=Customer, required=False)


def customer_ref_field():
    return TenantSlugRelatedField(
        model=Customer,
        slug_field="external_ref",
        required=False,
        write_only=True,
        help_text=_("Instead of customer: the customer's external_ref."),
    )


def vehicle_field():
    return TenantRelatedField(model=Vehicle, required=False, allow_null=True)


def vehicle_ref_field():
    return TenantSlugRelatedField(
        model=Vehicle,
        slug_field="external_ref",
        required=False,
        write_only=True,
        help_text=_("Instead of vehicle: the vehicle's external_ref."),
    )


class VehicleSerializer(_CustomerRefMixin, TenantModelSerializer):
    customer = customer_field()
    customer_external_ref = customer_ref_field()

    class Meta:
        model = Vehicle
        fields = ["id", "customer", "customer_external_ref", *VEHICLE_FIELDS[1:], "created_at", "updated_at"]
        read_only_fields = TIMESTAMPS

    def validate(self, attrs):
        return self._resolve_customer(attrs)


class PurchaseSerializer(_CustomerRefMixin, TenantModelSerializer):
    customer = customer_field()
    customer_external_ref = customer_ref_field()
    vehicle = vehicle_field()
    vehicle_external_ref = vehicle_ref_field()
    category = TenantSlugRelatedField(
        model=PurchaseCategory, slug_field="code", help_text=_("Category code, e.g. new_car, parts, service.")
    )

    class Meta:
        model = Purchase
        fields = [
            "id",
            "customer",
            "customer_external_ref",
            "vehicle",
            "vehicle_external_ref",
            "external_ref",
            "date",
            "category",
            "amount",
            "gross_profit",
            "is_refund",
            "description",
            "created_at",
            "updated_at",
        ]
        read_only_fields = TIMESTAMPS

    def validate(self, attrs):
        return self._resolve_vehicle(self._resolve_customer(attrs))


class ServiceRecordSerializer(_CustomerRefMixin, TenantModelSerializer):
    customer = customer_field()
    customer_external_ref = customer_ref_field()
    vehicle = vehicle_field()
    vehicle_external_ref = vehicle_ref_field()

    class Meta:
        model = ServiceRecord
        fields = [
            "id",
            "customer",
            "customer_external_ref",
            "vehicle",
            "vehicle_external_ref",
            "external_ref",
            "date",
            "kind",
            "amount",
            "gross_profit",
            "mileage",
            "next_due",
            "notes",
            "created_at",
            "updated_at",
        ]
        read_only_fields = TIMESTAMPS

    def validate(self, attrs):
        attrs = self._resolve_vehicle(attrs)
        vehicle = attrs.get("vehicle")
        if self.instance is None and vehicle is None:
            raise serializers.ValidationError({"vehicle": _("Give vehicle or vehicle_external_ref.")})
        if (
            vehicle is not None
            and self.instance is None
            and not (attrs.get("customer") or attrs.get("customer_external_ref"))
        ):
            attrs["customer"] = vehicle.customer  # a service is for the vehicle's owner unless told otherwise
        return self._resolve_customer(attrs)


class PurchaseCategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = PurchaseCategory
        fields = ["id", "code", "name"]
        read_only_fields = ["id", "code", "name"]


class ImportRequestSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ImportKind.choices)
    file = serializers.FileField(
        help_text=_("CSV; columns are this API's field names. UTF-8, BOM or Shift_JIS.")
    )
    skip_invalid = serializers.BooleanField(
        default=False, help_text=_("Import the valid rows and report the rest (default: all or nothing).")
    )
    dry_run = serializers.BooleanField(default=False, help_text=_("Validate only; write nothing."))


class RowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text=_("Row number as a spreadsheet shows it (the header is row 1)."))
    column = serializers.CharField()
    message = serializers.CharField()


class ImportReportSerializer(serializers.Serializer):
    rows_total = serializers.IntegerField()
    rows_imported = serializers.IntegerField()
    errors = RowErrorSerializer(many=True)
    encoding = serializers.CharField()
    dry_run = serializers.BooleanField()


class ImportJobSerializer(serializers.ModelSerializer):
    report = ImportReportSerializer(allow_null=True, read_only=True)

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "kind",
            "skip_invalid",
            "status",
            "rows_estimated",
            "rows_processed",
            "report",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields
