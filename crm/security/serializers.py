"""REST serializer of the audit trail."""

from rest_framework import serializers

from crm.models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label", read_only=True)

    class Meta:
        model = AuditEvent
        fields = [
            "id", "created_at", "action", "actor", "actor_user", "actor_api_key", "ip",
            "target_type", "target_id", "summary", "changes",
        ]  # fmt: skip
        read_only_fields = fields
