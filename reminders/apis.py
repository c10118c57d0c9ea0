"""REST endpoints of reminders: rules and templates (managers write), the outbox (read + cancel)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, status
from rest_framework.decorators import action
from rest_framework.response import Response

from channels.models import MessageChannel
from crm.api.filters import IdFilter, UpdatedSinceFilterSet
from crm.api.viewsets import TenantModelViewSet, TenantReadOnlyViewSet
from crm.tenancy.roles import EDIT_CUSTOMERS, EDIT_RULES
from reminders import services
from reminders.models import (
    HIDDEN_RULE_KINDS,
    Language,
    Reminder,
    ReminderRule,
    ReminderStatus,
    ReminderTemplate,
    RuleKind,
)
from reminders.serializers import ReminderRuleSerializer, ReminderSerializer, ReminderTemplateSerializer


class ReminderCancelConflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("Only planned or queued reminders can be cancelled.")
    default_code = "not_cancellable"


class ReminderTemplateFilter(UpdatedSinceFilterSet):
    language = filters.ChoiceFilter(choices=Language.choices)

    class Meta:
        model = ReminderTemplate
        fields = ["updated_since", "language"]


class ReminderRuleFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=RuleKind.choices)
    is_active = filters.BooleanFilter()

    class Meta:
        model = ReminderRule
        fields = ["kind", "is_active"]


class ReminderFilter(UpdatedSinceFilterSet):
    status = filters.MultipleChoiceFilter(choices=ReminderStatus.choices)
    channel = filters.MultipleChoiceFilter(choices=MessageChannel.choices)
    rule = IdFilter("rule_id")
    customer = IdFilter("customer_id")
    due_date = filters.DateFromToRangeFilter()

    class Meta:
        model = Reminder
        fields = ["updated_since", "status", "channel", "rule", "customer", "due_date"]


@extend_schema_view(
    list=extend_schema(summary=_("List e-mail templates")),
    create=extend_schema(summary=_("Create an e-mail template (managers)")),
)
class ReminderTemplateViewSet(TenantModelViewSet):
    model = ReminderTemplate
    serializer_class = ReminderTemplateSerializer
    filterset_class = ReminderTemplateFilter
    write_role = EDIT_RULES
    ordering_fields = ["updated_at", "id", "name"]
    export_filename = "reminder_templates.csv"

    def perform_create(self, serializer):
        serializer.instance = services.reminder_template_create(
            tenant=self.tenant, **serializer.validated_data
        )

    def perform_update(self, serializer):
        services.reminder_template_update(
            tenant=self.tenant, template=serializer.instance, data=serializer.validated_data
        )


@extend_schema_view(
    list=extend_schema(summary=_("List reminder rules")),
    create=extend_schema(summary=_("Create a reminder rule (managers)")),
)
class ReminderRuleViewSet(TenantModelViewSet):
    model = ReminderRule
    serializer_class = ReminderRuleSerializer
    filterset_class = ReminderRuleFilter
    write_role = EDIT_RULES
    ordering = ("created_at", "id")
    ordering_fields = ["created_at", "id", "name"]
    export_filename = "reminder_rules.csv"

    def scope_queryset(self, queryset):
        # The hidden rules behind campaigns and personal messages are not the shop's rules.
        return queryset.exclude(kind__in=HIDDEN_RULE_KINDS).prefetch_related("steps")

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        offsets = data.pop("steps", None)
        serializer.instance = services.reminder_rule_create(tenant=self.tenant, offsets=offsets, **data)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        offsets = data.pop("steps", None)
        rule = services.reminder_rule_update(
            tenant=self.tenant, rule=serializer.instance, data=data, offsets=offsets
        )
        serializer.instance = self.get_queryset().get(pk=rule.pk)


@extend_schema_view(
    list=extend_schema(summary=_("List planned and sent reminders")),
    retrieve=extend_schema(summary=_("Read a reminder")),
)
class ReminderViewSet(TenantReadOnlyViewSet):
    model = Reminder
    serializer_class = ReminderSerializer
    filterset_class = ReminderFilter
    write_role = EDIT_CUSTOMERS
    ordering_fields = ["updated_at", "id", "due_date"]
    export_filename = "reminders.csv"

    @extend_schema(
        summary=_("Cancel a planned or queued reminder"),
        request=None,
        responses={200: ReminderSerializer},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, *args, **kwargs):
        try:
            reminder = services.reminder_cancel(tenant=self.tenant, reminder=self.get_object())
        except services.ReminderNotCancellable as exc:
            raise ReminderCancelConflict() from exc
        return Response(self.get_serializer(reminder).data)
