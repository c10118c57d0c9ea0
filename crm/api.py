"""The REST API's foundation: authentication, tenant scoping, permissions, paging, idempotency, export.

Every app's `apis.py` builds on `TenantModelViewSet`. The rules it enforces, so no endpoint can forget:

* **Tenant scoping cannot be bypassed.** A viewset names its `model`; `get_queryset()` is final and
  always starts from `model.objects.for_tenant(request.tenant)`. Subclasses refine the queryset in
  `scope_queryset()`, which only ever receives the scoped one (the idea of PostHog's
  `posthog/api/routing.py`). Declaring `queryset` or overriding `get_queryset` raises at import time.
* **The tenant comes from the credential**: an API key belongs to exactly one tenant; a person's
  session carries the tenant chosen in the dashboard (`crm.middleware`). Never from the request body.
* **Roles**: reading needs `read_role`, writing needs `write_role` (see crm/roles.py). A read-scoped
  key acts as a viewer, a write-scoped key as staff; keys never get manager or owner rights.
* **Cursor paging** by keyset over a total order (`updated_at`, `id` by default; see
  `crm.api_auth.StableCursorPagination`), so `updated_since` + paging lets an integration sync
  incrementally: every row exactly once per walk, however many share a timestamp; a row changed
  while paging comes again on the next `updated_since` sync, not twice in this one.
* **Idempotency-Key** on POST: the first answer is stored and replayed; a different body with the
  same key is a 409.
* **CSV export** of any filtered list at `<list>/export/`, safe against formula injection.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import operator
from datetime import UTC, datetime
from typing import Any, ClassVar

from django import forms
from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.settings import api_settings

from crm.api_auth import (  # re-exported: apps import everything API-related from crm.api
    SAFE_METHODS,
    ApiKeyAuthentication,
    ApiKeyUser,
    ApiRateThrottle,
    StableCursorPagination,
    TenantRolePermission,
    effective_role,
)
from crm.api_schema import IDEMPOTENCY_HEADER, ErrorSerializer, KizunaAutoSchema
from crm.audit import audit_record
from crm.csvsafe import csv_response
from crm.models import AuditAction, IdempotentRequest
from crm.roles import EDIT_CUSTOMERS, Role
from crm.selectors import tenant_users

__all__ = [
    "SAFE_METHODS",
    "ApiKeyAuthentication",
    "ApiKeyUser",
    "ApiRateThrottle",
    "ErrorSerializer",
    "ExternalRefUpsertMixin",
    "FastRepresentationMixin",
    "IdFilter",
    "IntegerFilter",
    "KizunaAutoSchema",
    "StableCursorPagination",
    "TenantGenericViewSet",
    "TenantModelSerializer",
    "TenantModelViewSet",
    "TenantReadOnlyViewSet",
    "TenantRelatedField",
    "TenantRolePermission",
    "TenantScopedMixin",
    "TenantSlugRelatedField",
    "TenantUserField",
    "UpdatedSinceFilterSet",
    "UtcDateTimeFilter",
    "UtcDateTimeFromToRangeFilter",
    "effective_role",
]

EXPORT_CHUNK_ROWS = 2_000


# --- authentication (the classes live in crm.api_auth, which DRF settings import early) ----------
class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "crm.api_auth.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": str(
                _(
                    "A tenant API key, created by an owner in the dashboard or with "
                    "`manage.py create_api_key`. Send it as `Authorization: Bearer <key>`. "
                    "Read-scoped keys may only read."
                )
            ),
        }


# --- errors --------------------------------------------------------------------------------------
class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The request body is too large.")
    default_code = "request_too_large"


class InUseConflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("This is still in use (e.g. a template used by a rule) and cannot be deleted.")
    default_code = "in_use"


class IdempotencyConflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("This Idempotency-Key was already used with a different request.")
    default_code = "idempotency_conflict"


class IdempotencyInProgress(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("A request with this Idempotency-Key is still being processed; retry later.")
    default_code = "idempotency_in_progress"


# --- related fields scoped to the request's tenant --------------------------------------------------
class TenantRelatedField(serializers.PrimaryKeyRelatedField):
    """A foreign key that only accepts rows of the request's tenant: another tenant's id is a 400."""

    def __init__(self, model: type[models.Model] | None = None, **kwargs):
        self.model = model
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.model.objects.for_tenant(self.context["request"].tenant)


class TenantUserField(serializers.PrimaryKeyRelatedField):
    """A user field (assigned staff, owner…) that only accepts active members of the request's tenant."""

    def get_queryset(self):
        return tenant_users(tenant=self.context["request"].tenant)


@extend_schema_field(OpenApiTypes.STR)
class TenantSlugRelatedField(serializers.SlugRelatedField):
    """A foreign key given by a natural key (external_ref, category code) within the request's tenant."""

    def __init__(self, model: type[models.Model] | None = None, **kwargs):
        self.model = model
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.model.objects.for_tenant(self.context["request"].tenant)


# --- filters ---------------------------------------------------------------------------------------
MAX_ID = 2**63 - 1


class IntegerFilter(filters.NumberFilter):
    """A whole-number filter (django-filter's NumberFilter accepts decimals and 1e308)."""

    field_class = forms.IntegerField


def IdFilter(field_name: str, **kwargs) -> IntegerFilter:
    """Filter by the id of a related row; out-of-range ids are a 400, not a database error."""
    return IntegerFilter(field_name=field_name, min_value=1, max_value=MAX_ID, **kwargs)


def _to_utc(value: datetime | None, name: str) -> datetime | None:
    # PostgreSQL rejects offsets beyond ±15:59 that ISO 8601 parsing accepts; UTC is always valid.
    if value is None:
        return None
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise exceptions.ValidationError({name: [_("Enter a valid date/time.")]}) from exc


class UtcDateTimeFilter(filters.IsoDateTimeFilter):
    """An ISO 8601 date-time filter whose value is normalised to UTC before it reaches the database."""

    def filter(self, qs, value):
        return super().filter(qs, _to_utc(value, self.field_name))


class UtcDateTimeFromToRangeFilter(filters.IsoDateTimeFromToRangeFilter):
    """`<name>_after` / `<name>_before` in ISO 8601, normalised to UTC."""

    def filter(self, qs, value):
        if value:
            value = slice(_to_utc(value.start, self.field_name), _to_utc(value.stop, self.field_name))
        return super().filter(qs, value)


class UpdatedSinceFilterSet(filters.FilterSet):
    updated_since = UtcDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text=_("Only rows changed at or after this time (ISO 8601), for incremental sync."),
    )


# --- the viewset base ------------------------------------------------------------------------------
class TenantScopedMixin:
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

    # --- request limits and idempotency ---
    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self._check_body_size(request)
        if request.method == "POST" and request.headers.get(IDEMPOTENCY_HEADER):
            handler = getattr(self, "post", None)
            if handler is not None:
                # dispatch() looks the handler up after initial(); wrap it so retries replay.
                self.post = self._idempotent(handler)

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

    def _request_fingerprint(self, request) -> str:
        """A hash of method, path, body fields and uploaded files' bytes: "the same request"."""
        digest = hashlib.sha256()
        digest.update(f"{request.method} {request.path}\n".encode())
        data = request.data
        if hasattr(data, "getlist"):  # form or multipart: files are hashed by content below
            plain = {name: [str(v) for v in data.getlist(name)] for name in sorted(data.keys())}
        else:
            plain = data
        digest.update(json.dumps(plain, sort_keys=True, default=str).encode())
        for name in sorted(request.FILES):
            upload = request.FILES[name]
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
        return digest.hexdigest()

    def _idempotent(self, handler):
        def wrapped(request, *args, **kwargs):
            key = request.headers[IDEMPOTENCY_HEADER][:255]
            fingerprint = self._request_fingerprint(request)
            try:
                with transaction.atomic():
                    record, created = IdempotentRequest.objects.for_tenant(self.tenant).get_or_create(
                        tenant=self.tenant, key=key, defaults={"request_hash": fingerprint}
                    )
            except IntegrityError:  # a concurrent first request with the same key
                raise IdempotencyInProgress() from None
            if not created:
                if record.request_hash != fingerprint:
                    raise IdempotencyConflict()
                if record.response_status is None:
                    raise IdempotencyInProgress()
                response = Response(record.response_body, status=record.response_status)
                response["Idempotent-Replayed"] = "true"
                return response
            try:
                response = handler(request, *args, **kwargs)
            except Exception as exc:
                response = self.handle_exception(exc)
            if response.status_code >= 500 or response.status_code == 429:
                # Not an answer worth replaying: let the client retry for real.
                IdempotentRequest.objects.for_tenant(self.tenant).filter(pk=record.pk).delete()
            else:
                IdempotentRequest.objects.for_tenant(self.tenant).filter(pk=record.pk).update(
                    response_status=response.status_code,
                    response_body=json.loads(json.dumps(response.data, default=str)),
                )
            return response

        return wrapped

    # --- writes default to the services; subclasses override ---
    def perform_destroy(self, instance):
        try:
            instance.delete()
        except (ProtectedError, RestrictedError) as exc:
            raise InUseConflict() from exc

    # --- CSV export of the filtered list ---
    def export_rows(self, queryset):
        serializer_class = self.get_serializer_class()
        fields = [name for name, f in serializer_class().fields.items() if not f.write_only]
        context = self.get_serializer_context()

        def rows():
            # Chunks through the list serializer, so per-page batch loading (e.g. tags) applies.
            objects = queryset.iterator(chunk_size=EXPORT_CHUNK_ROWS)
            while chunk := list(itertools.islice(objects, EXPORT_CHUNK_ROWS)):
                for data in serializer_class(chunk, many=True, context=context).data:
                    yield [_csv_value(data.get(name)) for name in fields]

        return fields, rows()

    @extend_schema(
        summary=_("Export the filtered list as CSV"),
        description=_(
            "Every row matching the same filters as the list (no paging), as CSV with a UTF-8 BOM "
            "for Excel. Cells that could start a spreadsheet formula are neutralised."
        ),
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description=_("CSV file"))},
    )
    @action(detail=False, methods=["get"], url_path="export", pagination_class=None)
    def export(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        if not queryset.query.order_by:
            queryset = queryset.order_by(*self.ordering)
        header, rows = self.export_rows(queryset)
        audit_record(
            tenant=self.tenant,
            action=AuditAction.EXPORT_VIEWED,
            target_type=self.model._meta.label_lower,
            summary=f"API {self.export_filename}",
            # Filter names only: a free-text filter (q=) may itself be a customer's name.
            changes={"filters": sorted(request.query_params.keys())},
            request=request,
        )
        return csv_response(itertools.chain([header], rows), self.export_filename)


class TenantModelViewSet(TenantScopedMixin, viewsets.ModelViewSet):
    """Create, read, update, delete, list and export one model of the tenant."""


class TenantReadOnlyViewSet(TenantScopedMixin, viewsets.ReadOnlyModelViewSet):
    """Read, list and export one model of the tenant."""


class TenantGenericViewSet(TenantScopedMixin, viewsets.GenericViewSet):
    """Pick the mixins you need (e.g. list + retrieve + a custom action)."""


def _csv_value(value: Any) -> Any:
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else value


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


class CachedFieldsMixin:
    """Build a ModelSerializer's fields once per class, then copy them per request.

    `ModelSerializer.get_fields()` introspects the model on every instantiation; its result depends
    only on the class, so a deep copy of the first result (what DRF does for declared fields anyway)
    gives each serializer its own unbound fields at a fraction of the cost.
    """

    def get_fields(self):
        cls = type(self)
        prototype = cls.__dict__.get("_prototype_fields")
        if prototype is None:
            prototype = super().get_fields()
            cls._prototype_fields = prototype
        return copy.deepcopy(prototype)


class FastRepresentationMixin:
    """Serialize rows without DRF's per-field attribute machinery: the output is identical, ~2× faster.

    For each readable field a getter is planned once per serializer: a plain attribute (`source`), or
    the `<fk>_id` column for a primary-key relation (no related row is loaded); anything unusual
    (dotted sources, method fields) keeps DRF's own `get_attribute`. Lists of 50–500 rows spend most
    of their time here, so this is what keeps the API within reach of a bare Django view.
    """

    def _representation_plan(self):
        plan = getattr(self, "_plan", None)
        if plan is None:
            plan = []
            for name, field in self.fields.items():
                if field.write_only:
                    continue
                source = field.source
                if isinstance(field, serializers.PrimaryKeyRelatedField) and "." not in source:
                    plan.append((name, operator.attrgetter(f"{source}_id"), None))
                elif type(field).get_attribute is not serializers.Field.get_attribute:
                    plan.append((name, field.get_attribute, field))  # the field knows best
                elif (
                    source != "*"
                    and "." not in source
                    and not isinstance(field, serializers.SerializerMethodField)
                ):
                    plan.append((name, operator.attrgetter(source), field))
                else:
                    plan.append((name, field.get_attribute, field))
            self._plan = plan
        return plan

    def to_representation(self, instance):
        data = {}
        for name, getter, field in self._representation_plan():
            value = getter(instance)
            data[name] = value if value is None or field is None else field.to_representation(value)
        return data


class TenantModelSerializer(CachedFieldsMixin, FastRepresentationMixin, serializers.ModelSerializer):
    """A ModelSerializer for tenant-owned rows: `external_ref` is unique within the tenant (a clear 400)."""

    @property
    def tenant(self):
        return self.context["request"].tenant

    def validate_external_ref(self, value: str) -> str:
        if value:
            model = self.Meta.model
            clash = model.objects.for_tenant(self.tenant).filter(external_ref=value)
            if self.instance is not None:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists():
                raise serializers.ValidationError(
                    _("A %(model)s with this external reference already exists.")
                    % {"model": model._meta.verbose_name}
                )
        return value
