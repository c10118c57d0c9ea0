"""The viewset base of every app's API: tenant-scoped queryset, roles, cursor paging, idempotency, export.

The rules it enforces are listed in crm/api/__init__.py; the scoping rule is the one this module holds:
a viewset names its `model`, `get_queryset()` is final and always starts from
`model.objects.for_tenant(request.tenant)`, and subclasses refine it in `scope_queryset()`.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.settings import api_settings

from crm.api.exceptions import InUseConflict, RequestTooLarge
from crm.api.export import CsvExportMixin
from crm.api.filters import MAX_ID
from crm.api.idempotency import IdempotentPostMixin
from crm.api.pagination import StableCursorPagination
from crm.api.permissions import TenantRolePermission
from crm.tenancy.roles import EDIT_CUSTOMERS, Role


class TenantScopedMixin(IdempotentPostMixin, CsvExportMixin):
    """Base of every API viewset: tenant-scoped queryset, roles, cursor paging, idempotency, CSV export.

    Subclasses set `model`, `serializer_class`, optionally `filterset_class`, `ordering_fields`,
    `read_role`/`write_role`, and refine the scoped queryset in `scope_queryset()`. Writes go through
    the app's services: implement `perform_create` / `perform_update` calling them.
    """

    model: ClassVar[type[models.Model]]
    read_role: ClassVar[str] = Role.VIEWER
    write_role: ClassVar[str] = EDIT_CUSTOMERS
    permission_classes = [TenantRolePermission]
    pagination_class = StableCursorPagination
    ordering = ("updated_at", "id")
    # Any non-slash id reaches the view, so a malformed id is a JSON 404 like a missing one.
    lookup_value_regex = r"[^/]+"
    export_filename: ClassVar[str] = "export.csv"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__ or cls.__dict__.get("queryset") is not None:
            raise TypeError(
                f"{cls.__name__}: override scope_queryset(), not get_queryset()/queryset; "
                "the tenant scoping of the API cannot be replaced."
            )

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            # Schema generation has no request tenant; it never evaluates this queryset.
            return self.model.objects.unscoped().none()
        scoped = self.model.objects.for_tenant(self.request.tenant)
        return self.scope_queryset(scoped)

    def scope_queryset(self, queryset):
        """Refine the tenant's queryset (select_related, annotations, extra filters)."""
        return queryset

    def get_object(self):
        # A malformed or out-of-range id is simply not found (never a database error).
        value = str(self.kwargs.get(self.lookup_url_kwarg or self.lookup_field, ""))
        numeric = self.lookup_field in ("pk", "id") or self.lookup_field.endswith("_id")
        if numeric and not (value.isascii() and value.isdigit() and int(value) <= MAX_ID):
            raise exceptions.NotFound()
        return super().get_object()

    @property
    def tenant(self):
        return self.request.tenant

    # --- request limits (idempotency: IdempotentPostMixin) ---
    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self._check_body_size(request)

    def body_size_limit(self) -> int:
        return settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    def _check_body_size(self, request) -> None:
        limit = self.body_size_limit()
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is not None and length > limit:
            raise RequestTooLarge(
                _("The request body is too large (limit %(limit)d bytes).") % {"limit": limit}
            )

    # --- writes default to the services; subclasses override ---
    def perform_destroy(self, instance):
        try:
            instance.delete()
        except (ProtectedError, RestrictedError) as exc:
            raise InUseConflict() from exc


class TenantModelViewSet(TenantScopedMixin, viewsets.ModelViewSet):
    """Create, read, update, delete, list and export one model of the tenant."""


class TenantReadOnlyViewSet(TenantScopedMixin, viewsets.ReadOnlyModelViewSet):
    """Read, list and export one model of the tenant."""


class TenantGenericViewSet(TenantScopedMixin, viewsets.GenericViewSet):
    """Pick the mixins you need (e.g. list + retrieve + a custom action)."""


class ExternalRefUpsertMixin:
    """`GET`/`PUT <list>/by-ref/<external_ref>/`: read, or create-or-replace, by the integration's own id.

    A till can resend the same row safely: the first PUT creates (201), later ones update (200).
    """

    @extend_schema(
        summary=_("Read or upsert by external reference"),
        description=_(
            "GET returns the row with this external_ref. PUT creates it (201) or replaces it (200); "
            "the external_ref in the URL wins over one in the body."
        ),
        parameters=[
            OpenApiParameter(
                "external_ref", OpenApiTypes.STR, OpenApiParameter.PATH, description=_("External reference")
            )
        ],
    )
    @action(detail=False, methods=["get", "put"], url_path=r"by-ref/(?P<external_ref>[^/]{1,64})")
    def by_ref(self, request, external_ref: str, *args, **kwargs):
        # No stored ref holds a NUL (the serializer refuses it), and PostgreSQL cannot even compare
        # one (the driver raises): such a ref names no row; a PUT then fails validation with a 400.
        has_nul = "\x00" in external_ref
        instance = None if has_nul else self.get_queryset().filter(external_ref=external_ref).first()
        if request.method == "GET":
            if instance is None:
                raise exceptions.NotFound()
            return Response(self.get_serializer(instance).data)
        if not isinstance(request.data, dict):
            raise exceptions.ValidationError(
                {api_settings.NON_FIELD_ERRORS_KEY: [_("Send one object (a JSON object), not a list.")]}
            )
        data = {**request.data, "external_ref": external_ref}
        serializer = self.get_serializer(instance, data=data)
        serializer.is_valid(raise_exception=True)
        if instance is None:
            try:
                with transaction.atomic():
                    self.perform_create(serializer)
            except IntegrityError:
                # Created by a concurrent request between our lookup and insert: update it instead.
                instance = self.get_queryset().get(external_ref=external_ref)
                serializer = self.get_serializer(instance, data=data)
                serializer.is_valid(raise_exception=True)
                self.perform_update(serializer)
                return Response(serializer.data, status=status.HTTP_200_OK)
            return Response(serializer.data, status=status.HTTP_201_CREATED)
        self.perform_update(serializer)
        return Response(serializer.data, status=status.HTTP_200_OK)
