"""REST serializers of interactions, deals and call tasks."""

from __future__ import annotations

from rest_framework import serializers

from crm.api.fields import TenantRelatedField, TenantUserField
from crm.api.serializers import TenantModelSerializer
from customers.models import Customer, Vehicle
from interactions.models import CallTask, Deal, Interaction

TIMESTAMPS = ("id", "created_at", "updated_at")


class InteractionSerializer(TenantModelSerializer):
    customer = TenantRelatedField(model=Customer)
    staff = TenantUserField(allow_null=True, required=False)

    class Meta:
        model = Interaction
        fields = [
            "id",
            "customer",
            "staff",
            "channel",
            "direction",
            "occurred_at",
            "topic",
            "summary",
            "satisfaction",
            "follow_up_needed",
            "source",
            "created_at",
            "updated_at",
        ]
        read_only_fields = (*TIMESTAMPS, "source")
        extra_kwargs = {"occurred_at": {"required": False}}


class DealSerializer(TenantModelSerializer):
    customer = TenantRelatedField(model=Customer)
    vehicle = TenantRelatedField(model=Vehicle, allow_null=True, required=False)
    owner = TenantUserField(allow_null=True, required=False)

    class Meta:
        model = Deal
        fields = [
            "id",
            "customer",
            "vehicle",
            "title",
            "stage",
            "expected_amount",
            "expected_close",
            "owner",
            "lost_reason",
            "closed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = (*TIMESTAMPS, "closed_at")


class CallTaskSerializer(TenantModelSerializer):
    customer = TenantRelatedField(model=Customer)
    assigned_to = TenantUserField(allow_null=True, required=False)

    class Meta:
        model = CallTask
        fields = [
            "id",
            "customer",
            "assigned_to",
            "due_date",
            "reason",
            "status",
            "done_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = (*TIMESTAMPS, "status", "done_at")


class CallTaskCompleteSerializer(serializers.Serializer):
    summary = serializers.CharField(required=False, allow_blank=True, max_length=5000)
