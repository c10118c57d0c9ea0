"""REST endpoints of bookings: bookings (list by date, create with Idempotency-Key, move, cancel,
confirm, complete) and the free slots of a work type. `updated_since` + the stable cursor give a
dealer management system an incremental feed of every change."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from bookings import selectors, services, slot_cache
from bookings.models import Booking, BookingSource, BookingStatus, WorkType
from bookings.serializers import (
    BookingCancelSerializer,
    BookingCompleteSerializer,
    BookingMoveSerializer,
    BookingSerializer,
    SlotSerializer,
    WorkTypeSerializer,
)
from crm.api.filters import IdFilter, UpdatedSinceFilterSet, UtcDateTimeFilter
from crm.api.viewsets import TenantGenericViewSet, TenantReadOnlyViewSet
from crm.tenancy.roles import EDIT_CUSTOMERS

MAX_SLOT_DAYS = 62


class SlotConflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("This time was just taken. Please pick another one.")
    default_code = "slot_taken"


class BookingStateConflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "booking_state"


class BookingFilter(UpdatedSinceFilterSet):
    status = filters.MultipleChoiceFilter(choices=BookingStatus.choices)
    customer = IdFilter("customer_id")
    work_type = IdFilter("work_type_id")
    starts_after = UtcDateTimeFilter(field_name="starts_at", lookup_expr="gte")
    starts_before = UtcDateTimeFilter(field_name="starts_at", lookup_expr="lt")
    date = filters.DateFromToRangeFilter(field_name="starts_at__date", label=_("Start date range"))

    class Meta:
        model = Booking
        fields = ["updated_since", "status", "customer", "work_type", "starts_after", "starts_before", "date"]


def _raise_conflict(exc):
    if isinstance(exc, services.SlotTaken):
        raise SlotConflict(exc.message) from exc
    if isinstance(exc, services.SlotNotOffered):
        raise exceptions.ValidationError({"starts_at": [exc.message]}) from exc
    raise BookingStateConflict(exc.message) from exc


CONFLICTS = (services.SlotTaken, services.SlotNotOffered, services.BookingStateError)


@extend_schema_view(
    list=extend_schema(
        summary=_("List bookings (filter by date, status, work type; updated_since for sync)")
    ),
    retrieve=extend_schema(summary=_("Read a booking")),
    create=extend_schema(
        summary=_("Book a time (send an Idempotency-Key to retry safely)"),
        responses={201: BookingSerializer, 409: None},
    ),
)
class BookingViewSet(mixins.CreateModelMixin, TenantReadOnlyViewSet):
    model = Booking
    serializer_class = BookingSerializer
    filterset_class = BookingFilter
    write_role = EDIT_CUSTOMERS
    ordering_fields = ["updated_at", "id", "starts_at"]
    export_filename = "bookings.csv"

    def scope_queryset(self, queryset):
        return queryset

    def perform_create(self, serializer):
        try:
            serializer.instance = services.booking_create(
                tenant=self.tenant, source=BookingSource.API, **serializer.validated_data
            )
        except CONFLICTS as exc:
            _raise_conflict(exc)

    def _answer(self, booking):
        return Response(self.get_serializer(selectors.booking_get(tenant=self.tenant, pk=booking.pk)).data)

    @extend_schema(
        summary=_("Move a booking to another start"),
        request=BookingMoveSerializer,
        responses=BookingSerializer,
    )
    @action(detail=True, methods=["post"])
    def move(self, request, *args, **kwargs):
        data = BookingMoveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            booking = services.booking_move(
                tenant=self.tenant, booking=self.get_object(), starts_at=data.validated_data["starts_at"]
            )
        except CONFLICTS as exc:
            _raise_conflict(exc)
        return self._answer(booking)

    @extend_schema(
        summary=_("Cancel a booking"), request=BookingCancelSerializer, responses=BookingSerializer
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, *args, **kwargs):
        data = BookingCancelSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            booking = services.booking_cancel(
                tenant=self.tenant, booking=self.get_object(), reason=data.validated_data["reason"]
            )
        except CONFLICTS as exc:
            _raise_conflict(exc)
        return self._answer(booking)

    @extend_schema(summary=_("Confirm a requested booking"), request=None, responses=BookingSerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request, *args, **kwargs):
        try:
            booking = services.booking_confirm(tenant=self.tenant, booking=self.get_object())
        except CONFLICTS as exc:
            _raise_conflict(exc)
        return self._answer(booking)

    @extend_schema(
        summary=_("Complete a booking: creates the service record"),
        request=BookingCompleteSerializer,
        responses=BookingSerializer,
    )
    @action(detail=True, methods=["post"])
    def complete(self, request, *args, **kwargs):
        data = BookingCompleteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            booking = services.booking_complete(
                tenant=self.tenant, booking=self.get_object(), **data.validated_data
            )
        except CONFLICTS as exc:
            _raise_conflict(exc)
        return self._answer(booking)


@extend_schema_view(list=extend_schema(summary=_("List the shop's work types")))
class WorkTypeViewSet(TenantReadOnlyViewSet):
    model = WorkType
    serializer_class = WorkTypeSerializer
    pagination_class = None
    filter_backends = []
    ordering = ("position", "id")


class BookingSlotViewSet(TenantGenericViewSet):
    """Free times of one work type between two dates (at most 62 days), computed, not stored."""

    model = WorkType
    serializer_class = SlotSerializer
    pagination_class = None
    filter_backends = []
    ordering = ("position", "id")
    export = None  # slots are computed; the CSV export of the base would list work types

    @extend_schema(
        summary=_("Free slots of a work type"),
        parameters=[
            OpenApiParameter("work_type", OpenApiTypes.INT, required=True, description=_("Work type id")),
            OpenApiParameter("date_from", OpenApiTypes.DATE, required=True),
            OpenApiParameter(
                "date_to", OpenApiTypes.DATE, required=True, description=_("At most 62 days on")
            ),
            OpenApiParameter(
                "online",
                OpenApiTypes.BOOL,
                description=_("true (default): only what customers may book online (notice, horizon)."),
            ),
        ],
        responses=SlotSerializer(many=True),
    )
    def list(self, request, *args, **kwargs):
        params = request.query_params
        errors = {}
        try:
            first = date.fromisoformat(params.get("date_from", ""))
        except ValueError:
            errors["date_from"] = [_("Enter a valid date (YYYY-MM-DD).")]
        try:
            last = date.fromisoformat(params.get("date_to", ""))
        except ValueError:
            errors["date_to"] = [_("Enter a valid date (YYYY-MM-DD).")]
        raw = params.get("work_type", "")
        if not (raw.isascii() and raw.isdigit() and len(raw) < 19):
            errors["work_type"] = [_("Give the id of a work type.")]
        if errors:
            raise exceptions.ValidationError(errors)
        if last < first or last - first > timedelta(days=MAX_SLOT_DAYS):
            raise exceptions.ValidationError({"date_to": [_("Ask for at most 62 days from date_from.")]})
        # The shop's work types, settings and hours come from the slot cache (bookings/slot_cache.py),
        # and so does the answer itself, for a few seconds: a claim or a capacity change replaces it.
        shop = slot_cache.for_shop(self.tenant)
        work_type = shop.catalogue().work_type(int(raw))
        if work_type is None:
            raise exceptions.NotFound()
        online = params.get("online", "true").lower() not in ("false", "0", "no")
        data = shop.slots_answer(
            work_type=work_type,
            start=first,
            end=last,
            online=online,
            calendar=shop.catalogue().calendar(self.tenant),
        )
        return Response(data)
