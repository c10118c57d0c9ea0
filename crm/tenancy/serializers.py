"""REST serializers of the tenancy core (members)."""

from rest_framework import serializers

from crm.models import Membership
from crm.tenancy.roles import Role


class MembershipSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email", read_only=True)
    display_name = serializers.CharField(source="user.display_name", read_only=True)
    role = serializers.ChoiceField(choices=Role.choices)

    class Meta:
        model = Membership
        fields = ["id", "user", "email", "display_name", "role", "created_at"]
        read_only_fields = ["id", "user", "email", "display_name", "created_at"]
