"""REST endpoints of the weekly list: this week's entries (cursor-paged; `week`, `kind`, `staff`
filters) and the one-click actions as POSTs on an entry. A staff member's login sees their own
entries; managers, owners and integration keys the whole shop."""

from __future__ import annotations

from datetime import date

from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from crm.api.filters import IdFilter
from crm.api.viewsets import TenantGenericViewSet
from crm.models import ApiKey
from crm.tenancy.roles import EDIT_CUSTOMERS
from opportunities import services
from opportunities.models import ActionKind, EntryKind, WorklistEntry
from opportunities.selectors import SHOWN_STATUSES, may_see_all
from opportunities.serializers import ActionResultSerializer, DismissSerializer, WorklistEntrySerializer
from opportunities.worklist import shop_today, week_of
from reminders.personal import AlreadyMessaged


class ActionConflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "already_done"


class WorklistEntryFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=EntryKind.choices)
    staff = IdFilter("staff_id")

    class Meta:
        model = WorklistEntry
        fields = ["kind", "staff"]


WEEK = OpenApiParameter(
    "week", OpenApiTypes.DATE, description=_("Any day of the week wanted (default: this week, shop time).")
)


@extend_schema_view(
    list=extend_schema(summary=_("This week's list: entries per staff member"), parameters=[WEEK]),
    retrieve=extend_schema(summary=_("Read a weekly list entry")),
)
class WorklistEntryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantGenericViewSet):
    model = WorklistEntry
    serializer_class = WorklistEntrySerializer
    filterset_class = WorklistEntryFilter
    write_role = EDIT_CUSTOMERS
    ordering_fields = ["updated_at", "id", "rank", "expected_value"]
    export_filename = "worklist.csv"

    def _week(self) -> date:
        raw = self.request.query_params.get("week")
        if not raw:
            return week_of(shop_today(self.tenant))
        try:
            return week_of(date.fromisoformat(raw))
        except ValueError as exc:
            raise exceptions.ValidationError({"week": [_("Enter a date as YYYY-MM-DD.")]}) from exc

    def scope_queryset(self, queryset):
        membership = (
            None if isinstance(self.request.auth, ApiKey) else getattr(self.request, "membership", None)
        )
        if not may_see_all(membership):
            queryset = queryset.filter(staff=self.request.user)
        if self.action == "list":
            queryset = queryset.filter(week=self._week(), status__in=SHOWN_STATUSES)
        return queryset.select_related("customer").prefetch_related("actions")

    def _by(self):
        return None if isinstance(self.request.auth, ApiKey) else self.request.user

    def _answer(self, entry, kind: str, object_id):
        entry = self.get_queryset().get(pk=entry.pk)
        body = {"action": kind, "object_id": object_id, "entry": self.get_serializer(entry).data}
        return Response(body, status=status.HTTP_201_CREATED)

    def _run(self, kind: str, service, **extra):
        entry = self.get_object()
        try:
            made = service(tenant=self.tenant, entry=entry, by=self._by(), **extra)
        except (services.ActionRefused, AlreadyMessaged) as exc:
            raise ActionConflict(exc.message) from exc
        return self._answer(entry, kind, None if kind == ActionKind.DISMISS else made.pk)

    @extend_schema(
        summary=_("Create a call task from an entry"), request=None, responses={201: ActionResultSerializer}
    )
    @action(detail=True, methods=["post"], url_path="call-task")
    def call_task(self, request, *args, **kwargs):
        return self._run(ActionKind.CALL_TASK, services.worklist_entry_call_task)

    @extend_schema(
        summary=_("Create a deal (stage proposal) from an entry"),
        request=None,
        responses={201: ActionResultSerializer},
    )
    @action(detail=True, methods=["post"])
    def deal(self, request, *args, **kwargs):
        return self._run(ActionKind.DEAL, services.worklist_entry_deal)

    @extend_schema(
        summary=_("Send a one-off message on the customer's channel (consent checked, never twice)"),
        request=None,
        responses={201: ActionResultSerializer},
    )
    @action(detail=True, methods=["post"])
    def message(self, request, *args, **kwargs):
        return self._run(ActionKind.MESSAGE, services.worklist_entry_message)

    @extend_schema(
        summary=_("Dismiss an entry with a reason (it stays off the list for the shop's period)"),
        request=DismissSerializer,
        responses={201: ActionResultSerializer},
    )
    @action(detail=True, methods=["post"])
    def dismiss(self, request, *args, **kwargs):
        data = DismissSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._run(ActionKind.DISMISS, services.worklist_entry_dismiss, **data.validated_data)
