"""The shapes of the results API's answers: they serialise the responses and document them in the
OpenAPI schema, so the two cannot drift apart."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


class IntervalSerializer(serializers.Serializer):
    estimate = serializers.FloatField(help_text=_("The difference reminded − held out."))
    low = serializers.FloatField(help_text=_("Lower end of the 95 % interval."))
    high = serializers.FloatField(help_text=_("Upper end of the 95 % interval."))


class GroupSerializer(serializers.Serializer):
    customers = serializers.IntegerField()
    visited = serializers.IntegerField(help_text=_("Customers with a visit within their window."))
    visit_rate = serializers.FloatField(allow_null=True)
    revenue = serializers.IntegerField(help_text=_("Yen, purchases and service records within the window."))
    revenue_per_customer = serializers.FloatField(allow_null=True)


class FunnelSerializer(serializers.Serializer):
    """Counted per reminder: planned → sent → opened → clicked → booked → visited, and the revenue of the
    visits (yen)."""

    planned = serializers.IntegerField()
    sent = serializers.IntegerField()
    opened = serializers.IntegerField()
    clicked = serializers.IntegerField()
    booked = serializers.IntegerField()
    visited = serializers.IntegerField()
    revenue = serializers.IntegerField()


class SummarySerializer(serializers.Serializer):
    ja = serializers.CharField()
    en = serializers.CharField()


class UpliftSerializer(serializers.Serializer):
    measurable = serializers.BooleanField(help_text=_("False when the rule has no held-out customers."))
    treated = GroupSerializer()
    held_out = GroupSerializer()
    visit_rate_difference = IntervalSerializer(allow_null=True)
    revenue_per_customer_difference = IntervalSerializer(allow_null=True)
    confidence = serializers.FloatField()
    needed_per_group = serializers.IntegerField(
        allow_null=True, help_text=_("Customers per group needed to tell the current difference from none.")
    )
    summary = SummarySerializer(help_text=_("The result in plain words."))


class RuleResultSerializer(serializers.Serializer):
    rule = serializers.IntegerField()
    name = serializers.CharField()
    is_campaign = serializers.BooleanField()
    holdout_percent = serializers.IntegerField()
    funnel = FunnelSerializer()
    uplift = UpliftSerializer()


class ResultsListSerializer(serializers.Serializer):
    computed_at = serializers.DateTimeField(allow_null=True)
    rules = RuleResultSerializer(many=True)


class StepFunnelSerializer(FunnelSerializer):
    step = serializers.IntegerField()


class ChannelFunnelSerializer(FunnelSerializer):
    channel = serializers.CharField()


class MonthResultSerializer(serializers.Serializer):
    month = serializers.DateField(help_text=_("First day of the month of the due dates."))
    treated = GroupSerializer()
    held_out = GroupSerializer()
    funnel = FunnelSerializer()


class ResultsDetailSerializer(serializers.Serializer):
    computed_at = serializers.DateTimeField(allow_null=True)
    rule = serializers.IntegerField()
    name = serializers.CharField()
    is_campaign = serializers.BooleanField()
    holdout_percent = serializers.IntegerField()
    attribution_days = serializers.IntegerField()
    funnel = FunnelSerializer()
    by_step = StepFunnelSerializer(many=True)
    by_channel = ChannelFunnelSerializer(many=True)
    uplift = UpliftSerializer()
    months = MonthResultSerializer(many=True)
