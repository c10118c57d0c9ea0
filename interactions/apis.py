"""REST endpoints of interactions, deals (商談) and call tasks."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.decorators import action
from rest_framework.response import Response

from crm.api.authentication import ApiKeyUser
from crm.api.filters import IdFilter, UpdatedSinceFilterSet, UtcDateTimeFromToRangeFilter
from crm.api.viewsets import TenantModelViewSet
from crm.common.services import model_update
from interactions import services
from interactions.models import (
    CallTask,
    CallTaskStatus,
    Channel,
    Deal,
    DealStage,
    Interaction,
    Topic,
)
from interactions.serializers import (
    CallTaskCompleteSerializer,
    CallTaskSerializer,
    DealSerializer,
    InteractionSerializer,
)


class InteractionFilter(UpdatedSinceFilterSet):
    customer = IdFilter("customer_id")
    staff = IdFilter("staff_id")
    channel = filters.ChoiceFilter(choices=Channel.choices)
    topic = filters.ChoiceFilter(choices=Topic.choices)
    occurred_at = UtcDateTimeFromToRangeFilter(
        help_text=_("occurred_at_after / occurred_at_before (ISO 8601).")
    )
    follow_up_needed = filters.BooleanFilter()

    class Meta:
        model = Interaction
        fields = ["updated_since", "customer", "staff", "channel", "topic", "occurred_at", "follow_up_needed"]


class DealFilter(UpdatedSinceFilterSet):
    customer = IdFilter("customer_id")
    owner = IdFilter("owner_id")
    stage = filters.MultipleChoiceFilter(choices=DealStage.choices)
    expected_close = filters.DateFromToRangeFilter()

    class Meta:
        model = Deal
        fields = ["updated_since", "customer", "owner", "stage", "expected_close"]


class CallTaskFilter(UpdatedSinceFilterSet):
    customer = IdFilter("customer_id")
    assigned_to = IdFilter("assigned_to_id")
    status = filters.ChoiceFilter(choices=CallTaskStatus.choices)
    due_date = filters.DateFromToRangeFilter()

    class Meta:
        model = CallTask
        fields = ["updated_since", "customer", "assigned_to", "status", "due_date"]


def _person(request):
    """The signed-in person, or None for an integration's key."""
    return None if isinstance(request.user, ApiKeyUser) else request.user


@extend_schema_view(
    list=extend_schema(summary=_("List interactions")),
    create=extend_schema(summary=_("Log an interaction")),
)
class InteractionViewSet(TenantModelViewSet):
    model = Interaction
    serializer_class = InteractionSerializer
    filterset_class = InteractionFilter
    ordering_fields = ["updated_at", "id", "occurred_at"]
    export_filename = "interactions.csv"

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        if "staff" not in data and _person(self.request) is not None:
            data["staff"] = self.request.user
        serializer.instance = services.interaction_create(tenant=self.tenant, **data)

    def perform_update(self, serializer):
        services.interaction_update(
            tenant=self.tenant, interaction=serializer.instance, data=serializer.validated_data
        )


@extend_schema_view(
    list=extend_schema(summary=_("List deals")),
    create=extend_schema(summary=_("Open a deal")),
)
class DealViewSet(TenantModelViewSet):
    model = Deal
    serializer_class = DealSerializer
    filterset_class = DealFilter
    ordering_fields = ["updated_at", "id", "expected_close", "expected_amount"]
    export_filename = "deals.csv"

    def perform_create(self, serializer):
        serializer.instance = services.deal_create(tenant=self.tenant, **serializer.validated_data)

    def perform_update(self, serializer):
        services.deal_update(
            tenant=self.tenant, deal=serializer.instance, data=dict(serializer.validated_data)
        )


@extend_schema_view(
    list=extend_schema(summary=_("List call tasks")),
    create=extend_schema(summary=_("Create a call task")),
)
class CallTaskViewSet(TenantModelViewSet):
    model = CallTask
    serializer_class = CallTaskSerializer
    filterset_class = CallTaskFilter
    ordering_fields = ["updated_at", "id", "due_date"]
    export_filename = "call_tasks.csv"

    def perform_create(self, serializer):
        serializer.instance = services.call_task_create(tenant=self.tenant, **serializer.validated_data)

    def perform_update(self, serializer):
        model_update(
            instance=serializer.instance,
            fields=["customer", "assigned_to", "due_date", "reason"],
            data=serializer.validated_data,
        )

    @extend_schema(
        summary=_("Mark a call task done"),
        description=_("A summary, when given, is logged on the customer's timeline as a phone call."),
        request=CallTaskCompleteSerializer,
        responses=CallTaskSerializer,
    )
    @action(detail=True, methods=["post"])
    def complete(self, request, *args, **kwargs):
        task = self.get_object()
        body = CallTaskCompleteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        task = services.call_task_complete(
            tenant=self.tenant, task=task, by=_person(request), summary=body.validated_data.get("summary", "")
        )
        return Response(self.get_serializer(task).data)
