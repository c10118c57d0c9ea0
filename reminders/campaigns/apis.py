"""REST endpoints of campaigns: list, create, read, audience preview, submit, approve, cancel.

Staff (and write keys) draft and submit; approving needs an owner or manager signed in (a key acts as
staff at most, so it cannot approve). Another shop's campaign is a 404 like any other row.
"""

from __future__ import annotations

from django.core.paginator import EmptyPage, Paginator
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from crm.api.authentication import ApiKeyUser
from crm.api.viewsets import TenantGenericViewSet
from crm.common.errors import ApplicationError
from crm.tenancy.roles import APPROVE_CAMPAIGNS, DRAFT_CAMPAIGNS
from reminders.campaigns import selectors, services
from reminders.campaigns.serializers import CampaignPreviewSerializer, CampaignSerializer
from reminders.models import Campaign, CampaignStatus

PREVIEW_PAGE_SIZE = 50


class CampaignConflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("The campaign is not in a state that allows this.")
    default_code = "campaign_state"


class CampaignFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=CampaignStatus.choices)

    class Meta:
        model = Campaign
        fields = ["status"]


@extend_schema_view(
    list=extend_schema(summary=_("List campaigns")),
    create=extend_schema(summary=_("Draft a campaign")),
    retrieve=extend_schema(summary=_("Read a campaign")),
)
class CampaignViewSet(
    mixins.ListModelMixin, mixins.CreateModelMixin, mixins.RetrieveModelMixin, TenantGenericViewSet
):
    model = Campaign
    serializer_class = CampaignSerializer
    filterset_class = CampaignFilter
    write_role = DRAFT_CAMPAIGNS
    ordering = ("created_at", "id")
    ordering_fields = ["created_at", "id", "scheduled_for"]
    export_filename = "campaigns.csv"

    def scope_queryset(self, queryset):
        return queryset.select_related("rule")

    def get_permissions(self):
        if self.action == "approve":
            self.write_role = APPROVE_CAMPAIGNS
        return super().get_permissions()

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        rule = data.pop("rule")
        person = None if isinstance(self.request.user, ApiKeyUser) else self.request.user
        try:
            campaign = services.campaign_create(
                tenant=self.tenant, created_by=person, **data, **{k: v for k, v in rule.items()}
            )
        except ApplicationError as exc:
            raise exceptions.ValidationError({"detail": exc.message}) from exc
        serializer.instance = self.get_queryset().get(pk=campaign.pk)

    def _move(self, step):
        try:
            campaign = step(self.get_object())
        except services.CampaignStateError as exc:
            raise CampaignConflict(exc.message) from exc
        except ApplicationError as exc:
            raise exceptions.PermissionDenied(exc.message) from exc
        return Response(self.get_serializer(self.get_queryset().get(pk=campaign.pk)).data)

    @extend_schema(
        summary=_("Preview the audience: its size and one page of 50 customers"),
        parameters=[OpenApiParameter("page", OpenApiTypes.INT, description=_("Page number, from 1"))],
        responses={200: CampaignPreviewSerializer},
    )
    @action(detail=True, methods=["get"])
    def preview(self, request, *args, **kwargs):
        campaign = self.get_object()
        audience = selectors.campaign_audience(tenant=self.tenant, campaign=campaign)
        paginator = Paginator(audience, PREVIEW_PAGE_SIZE)
        raw = request.query_params.get("page", "1")
        number = int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) < 10**6 else 1
        try:
            page = paginator.page(number)
        except EmptyPage:
            page = None
        data = {
            "audience_size": paginator.count,
            "page": number,
            "next_page": number + 1 if page is not None and page.has_next() else None,
            "customers": list(page.object_list) if page is not None else [],
        }
        return Response(CampaignPreviewSerializer(data).data)

    @extend_schema(summary=_("Submit a draft for sending"), request=None, responses={200: CampaignSerializer})
    @action(detail=True, methods=["post"])
    def submit(self, request, *args, **kwargs):
        return self._move(lambda c: services.campaign_submit(tenant=self.tenant, campaign=c))

    @extend_schema(
        summary=_("Approve a campaign above the shop's threshold (owners and managers)"),
        request=None,
        responses={200: CampaignSerializer},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, *args, **kwargs):
        return self._move(
            lambda c: services.campaign_approve(tenant=self.tenant, campaign=c, by=request.user)
        )

    @extend_schema(
        summary=_("Cancel a campaign before launch"), request=None, responses={200: CampaignSerializer}
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, *args, **kwargs):
        return self._move(lambda c: services.campaign_cancel(tenant=self.tenant, campaign=c))
