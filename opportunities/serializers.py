"""REST serializers of the weekly list: an entry (with its reason in the request's language) and the
bodies and answers of its actions."""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from opportunities.models import ActionKind, DismissReason, WorklistEntry
from opportunities.selectors import done_actions, entry_reason


class WorklistEntrySerializer(serializers.ModelSerializer):
    customer_name = serializers.CharField(source="customer.full_name", read_only=True)
    reason = serializers.SerializerMethodField(
        help_text=_("Why the customer is on the list, in plain words.")
    )
    actions_done = serializers.SerializerMethodField(help_text=_("Actions already taken from this entry."))

    class Meta:
        model = WorklistEntry
        fields = [
            "id",
            "week",
            "staff",
            "rank",
            "kind",
            "customer",
            "customer_name",
            "vehicle",
            "probability",
            "expected_margin",
            "expected_value",
            "method",
            "reason",
            "status",
            "actions_done",
            "acted_at",
            "dismissed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_reason(self, entry) -> str:
        return entry_reason(entry, language=(translation.get_language() or "ja").split("-")[0])

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=ActionKind.choices)))
    def get_actions_done(self, entry) -> list[str]:
        return sorted(done_actions(entry))


class DismissSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=DismissReason.choices)
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class ActionResultSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=ActionKind.choices)
    object_id = serializers.IntegerField(
        allow_null=True, help_text=_("The call task, deal or reminder made.")
    )
    entry = WorklistEntrySerializer()
