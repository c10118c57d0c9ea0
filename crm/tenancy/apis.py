"""REST endpoints of the tenancy core: the shop's members (owners only)."""

from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins

from crm.api.viewsets import TenantGenericViewSet
from crm.models import Membership
from crm.tenancy.roles import MANAGE_TENANT, Role
from crm.tenancy.serializers import MembershipSerializer
from crm.tenancy.services import membership_set_role


class MembershipFilter(filters.FilterSet):
    role = filters.ChoiceFilter(choices=Role.choices)

    class Meta:
        model = Membership
        fields = ["role"]


@extend_schema_view(
    list=extend_schema(summary=_("List the shop's members (owners only)")),
    retrieve=extend_schema(summary=_("Read a member (owners only)")),
    update=extend_schema(summary=_("Change a member's role (owners only)")),
    partial_update=extend_schema(summary=_("Change a member's role (owners only)")),
)
class MembershipViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, TenantGenericViewSet
):
    """Members and their roles. API keys never have owner rights, so only signed-in owners get here."""

    model = Membership
    serializer_class = MembershipSerializer
    filterset_class = MembershipFilter
    read_role = MANAGE_TENANT
    write_role = MANAGE_TENANT
    ordering = ("created_at", "id")
    ordering_fields = ["created_at", "id"]
    export_filename = "members.csv"

    def scope_queryset(self, queryset):
        return queryset.select_related("user")

    def perform_update(self, serializer):
        serializer.instance = membership_set_role(
            tenant=self.tenant, membership=serializer.instance, role=serializer.validated_data["role"]
        )
