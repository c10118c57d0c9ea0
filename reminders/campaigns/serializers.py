"""REST serializers of campaigns and their audience preview."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from channels.models import validate_channel_order
from crm.api.fields import TenantRelatedField
from reminders.campaigns.audience import audience_clean
from reminders.models import Campaign, ReminderTemplate


class CampaignSerializer(serializers.ModelSerializer):
    """A campaign; the message, channels, holdout and attribution window live on its hidden rule."""

    template = TenantRelatedField(model=ReminderTemplate, source="rule.template")
    allowed_channels = serializers.CharField(
        source="rule.allowed_channels",
        required=False,
        allow_blank=True,
        default="",
        max_length=60,
        help_text=_('Comma-separated channels, e.g. "email,line"; blank = every channel.'),
    )
    holdout_percent = serializers.IntegerField(
        source="rule.holdout_percent", min_value=0, max_value=50, default=0
    )
    attribution_days = serializers.IntegerField(
        source="rule.attribution_days", min_value=1, max_value=365, default=60
    )
    audience = serializers.JSONField(
        required=False,
        default=dict,
        help_text=_(
            'e.g. {"segment": "at_risk", "tags": ["vip"], "inspection_in_months": [2, 4], '
            '"last_visit_before": "2026-01-01"}; every key optional, all given must match.'
        ),
    )

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "status",
            "scheduled_for",
            "audience",
            "audience_size",
            "template",
            "allowed_channels",
            "holdout_percent",
            "attribution_days",
            "rule",
            "created_by",
            "approved_by",
            "approved_at",
            "approved_size",
            "launched_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "status",
            "audience_size",
            "rule",
            "created_by",
            "approved_by",
            "approved_at",
            "approved_size",
            "launched_at",
            "created_at",
            "updated_at",
        ]

    def validate_allowed_channels(self, value: str) -> str:
        try:
            validate_channel_order(value)
        except ValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc
        return value

    def validate_audience(self, value):
        try:
            return audience_clean(tenant=self.context["request"].tenant, data=value)
        except ValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc


class AudienceCustomerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="full_name")


class CampaignPreviewSerializer(serializers.Serializer):
    audience_size = serializers.IntegerField()
    page = serializers.IntegerField()
    next_page = serializers.IntegerField(allow_null=True)
    customers = AudienceCustomerSerializer(many=True)
