"""REST serializers of bookings, work types and free slots."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from bookings.models import Booking, WorkType
from crm.api.fields import TenantRelatedField
from crm.api.serializers import TenantModelSerializer
from customers.models import Customer, Vehicle


class WorkTypeSerializer(TenantModelSerializer):
    class Meta:
        model = WorkType
        fields = [
            "id",
            "code",
            "name",
            "service_kind",
            "duration_minutes",
            "capacity",
            "bookable_online",
            "is_active",
        ]
        read_only_fields = fields


class BookingSerializer(TenantModelSerializer):
    customer = TenantRelatedField(model=Customer)
    vehicle = TenantRelatedField(model=Vehicle, required=False, allow_null=True)
    work_type = TenantRelatedField(model=WorkType)

    class Meta:
        model = Booking
        fields = [
            "id",
            "customer",
            "vehicle",
            "work_type",
            "starts_at",
            "ends_at",
            "status",
            "source",
            "staff_note",
            "customer_note",
            "service_record",
            "confirmed_at",
            "cancelled_at",
            "cancel_reason",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "ends_at",
            "status",
            "source",
            "customer_note",
            "service_record",
            "confirmed_at",
            "cancelled_at",
            "cancel_reason",
            "created_at",
            "updated_at",
        ]


class BookingMoveSerializer(serializers.Serializer):
    starts_at = serializers.DateTimeField(help_text=_("The new start (ISO 8601 with offset)."))


class BookingCancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class BookingCompleteSerializer(serializers.Serializer):
    mileage = serializers.IntegerField(min_value=0, max_value=2_000_000, required=False, allow_null=True)
    amount = serializers.IntegerField(min_value=0, max_value=100_000_000, required=False, default=0)
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class SlotSerializer(serializers.Serializer):
    work_type = serializers.IntegerField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    free = serializers.IntegerField(help_text=_("Seats (pits) still free for the whole duration."))
