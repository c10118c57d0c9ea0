"""REST serializers of reminder rules, templates and the reminder outbox."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from crm.api.fields import TenantRelatedField
from crm.api.serializers import TenantModelSerializer
from reminders.models import HIDDEN_RULE_KINDS, Reminder, ReminderRule, ReminderTemplate


class ReminderTemplateSerializer(TenantModelSerializer):
    class Meta:
        model = ReminderTemplate
        fields = ["id", "name", "language", "subject", "body", "updated_at"]
        read_only_fields = ["id", "updated_at"]


class OffsetsField(serializers.ListField):
    """A rule's steps as day offsets from the occasion (negative = before it), read from its steps."""

    def to_representation(self, data):
        return [step.offset_days for step in data.all()]


class ReminderRuleSerializer(TenantModelSerializer):
    template = TenantRelatedField(model=ReminderTemplate)
    offsets = OffsetsField(
        source="steps",
        child=serializers.IntegerField(min_value=-3650, max_value=3650),
        required=False,
        max_length=20,
        help_text=_("Days from the occasion for each send, e.g. [-90, -60, -30]; default per kind."),
    )

    class Meta:
        model = ReminderRule
        fields = [
            "id",
            "name",
            "kind",
            "template",
            "is_active",
            "season_months",
            "season_day",
            "audience_segment",
            "audience_tag",
            "holdout_percent",
            "attribution_days",
            "offsets",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]

    def validate_kind(self, value):
        # Campaign and personal-message rules belong to their campaign or message (own endpoints).
        if value in HIDDEN_RULE_KINDS:
            raise serializers.ValidationError(_("This kind of rule cannot be created here."))
        return value


class ReminderSerializer(serializers.ModelSerializer):
    """Read-only: `channel` is the one the dispatcher chose (blank until the reminder is claimed;
    `postcard` once it is in a print batch); `held_out` is the control group's status (planned, never
    sent); `opened_at` / `clicked_at` are the first open and first click (null until then)."""

    class Meta:
        model = Reminder
        fields = [
            "id",
            "rule",
            "step",
            "customer",
            "vehicle",
            "occasion_date",
            "due_date",
            "status",
            "channel",
            "reason",
            "attempts",
            "sent_at",
            "opened_at",
            "clicked_at",
            "call_task",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
