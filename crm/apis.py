"""REST endpoints of the tenancy core: the shop's members (owners only)."""

from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins

from crm.api.filters import IdFilter, UtcDateTimeFilter
from crm.api.viewsets import TenantGenericViewSet
from crm.models import AuditAction, AuditEvent, Membership
from crm.serializers import AuditEventSerializer, MembershipSerializer
from crm.services import membership_set_role
from crm.tenancy.roles import MANAGE_TENANT, Role


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


class AuditEventFilter(filters.FilterSet):
    action = filters.ChoiceFilter(choices=AuditAction.choices)
    actor_user = IdFilter("actor_user_id")
    target_type = filters.CharFilter()
    target_id = IdFilter("target_id")
    since = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields = ["action", "actor_user", "target_type", "target_id", "since", "until"]


@extend_schema_view(
    list=extend_schema(summary=_("List the shop's audit trail (owners only)")),
    retrieve=extend_schema(summary=_("Read an audit event (owners only)")),
)
class AuditEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantGenericViewSet):
    """The append-only audit trail, read-only. API keys never have owner rights: signed-in owners only."""

    model = AuditEvent
    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilter
    read_role = MANAGE_TENANT
    write_role = MANAGE_TENANT
    ordering = ("-created_at", "-id")
    ordering_fields = ["created_at", "id"]
    export_filename = "audit.csv"
