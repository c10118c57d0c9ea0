"""REST serializers of analytics (read-only)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from analytics.models import CustomerRFM


class CustomerRFMSerializer(serializers.ModelSerializer):
    customer = serializers.IntegerField(source="customer_id", read_only=True)

    class Meta:
        model = CustomerRFM
        fields = [
            "customer",
            "as_of",
            "computed_at",
            "last_transaction",
            "recency_days",
            "frequency",
            "monetary",
            "average",
            "r_score",
            "f_score",
            "m_score",
            "segment",
            "revenue_to_date",
            "gross_profit_to_date",
            "transactions_to_date",
            "first_transaction",
        ]
        read_only_fields = fields


class MonthQuerySerializer(serializers.Serializer):
    from_month = serializers.DateField(
        input_formats=["%Y-%m", "%Y-%m-%d"], help_text=_("Month of the earlier snapshot, YYYY-MM.")
    )
    to_month = serializers.DateField(
        input_formats=["%Y-%m", "%Y-%m-%d"], help_text=_("Month of the later snapshot, YYYY-MM.")
    )


class KpiQuerySerializer(serializers.Serializer):
    months = serializers.IntegerField(min_value=1, max_value=120, default=36)
    staff = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False)


class CohortQuerySerializer(serializers.Serializer):
    months = serializers.IntegerField(min_value=1, max_value=120, default=24)


class RetentionQuerySerializer(serializers.Serializer):
    months = serializers.IntegerField(min_value=1, max_value=36, default=24)
    dimension = serializers.ChoiceField(
        choices=["all", "staff", "channel", "segment"],
        default="all",
        help_text=_("all: by month for the whole shop; staff (managers), channel, segment: per group."),
    )
