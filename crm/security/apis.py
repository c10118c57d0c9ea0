"""REST endpoints of the audit trail (owners only, read-only)."""

from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins

from crm.api.filters import IdFilter, UtcDateTimeFilter
from crm.api.viewsets import TenantGenericViewSet
from crm.models import AuditAction, AuditEvent
from crm.security.serializers import AuditEventSerializer
from crm.tenancy.roles import MANAGE_TENANT


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
