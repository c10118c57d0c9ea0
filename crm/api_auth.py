"""Authentication, permission, throttle and paging classes of the API.

Kept apart from crm/api.py because DRF imports the classes named in its settings while
`rest_framework.views` itself is still loading; this module therefore imports only light DRF modules.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, permissions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.metadata import SimpleMetadata
from rest_framework.pagination import CursorPagination
from rest_framework.throttling import SimpleRateThrottle

from crm.apikeys import api_key_authenticate
from crm.models import ApiKey, ApiKeyScope
from crm.tenancy.roles import EDIT_CUSTOMERS, Role, role_at_least

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


# --- authentication ------------------------------------------------------------------------------
class ApiKeyUser:
    """The principal of a request authenticated by an API key (an integration, not a person)."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, key: ApiKey):
        self.key = key

    def __str__(self):
        return f"API key {self.key.prefix}…"


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer <key>`: the key decides the tenant; revoked or unknown keys get 401."""

    keyword = b"bearer"

    def authenticate(self, request):
        auth = get_authorization_header(request).split()
        if not auth or auth[0].lower() != self.keyword:
            return None
        if len(auth) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid Authorization header: send 'Bearer <key>'."))
        try:
            raw = auth[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed(_("Invalid API key.")) from exc
        key = api_key_authenticate(raw=raw)
        if key is None:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked API key."))
        # The tenant of a key request is the key's, whatever the session says (api_key_authenticate
        # has made it the database tenant of the request's transaction too).
        request._request.tenant = key.tenant
        request._request.membership = None
        return ApiKeyUser(key), key

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


def effective_role(request) -> str | None:
    """The role the request acts with: a key's scope maps to viewer/staff; a person has their membership."""
    if isinstance(request.auth, ApiKey):
        return Role.STAFF if request.auth.scope == ApiKeyScope.WRITE else Role.VIEWER
    membership = getattr(request, "membership", None)
    return membership.role if membership is not None else None


class TenantRolePermission(permissions.BasePermission):
    """An active tenant, and a role at least the view's `read_role` (safe methods) or `write_role`."""

    message = _("You do not have permission to perform this action.")

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        if getattr(request, "tenant", None) is None:
            self.message = _("Choose a shop first: you are not a member of an active shop.")
            return False
        role = effective_role(request)
        if role is None:
            return False
        needed = getattr(view, "read_role", Role.VIEWER)
        if request.method not in SAFE_METHODS:
            needed = getattr(view, "write_role", EDIT_CUSTOMERS)
        return role_at_least(role, needed)


# --- throttling ----------------------------------------------------------------------------------
class ApiRateThrottle(SimpleRateThrottle):
    """Requests per key (or per person); the rate is the setting KIZUNA_API_RATE, e.g. "1200/min".

    Read at request time (not import time) so deployments and tests can change it.
    """

    scope = "api"

    def get_rate(self):
        return getattr(settings, "KIZUNA_API_RATE", "1200/min")

    def allow_request(self, request, view):
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiKey):
            ident = f"key-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            return None
        return self.cache_format % {"scope": self.scope, "ident": ident}


# --- paging --------------------------------------------------------------------------------------
class StableCursorPagination(CursorPagination):
    """Opaque cursors over a stable order: rows changed while paging are neither lost nor doubled."""

    ordering = ("updated_at", "id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


# --- OPTIONS ---------------------------------------------------------------------------------------
class SchemaPointerMetadata(SimpleMetadata):
    """OPTIONS answers name, description and media types; the OpenAPI schema describes the fields.

    DRF's default also lists writable fields per method by building the object, which fails on
    routes without a primary key (e.g. `by-ref/<external_ref>/`).
    """

    def determine_metadata(self, request, view):
        metadata = super().determine_metadata(request, view)
        metadata.pop("actions", None)
        metadata["schema"] = "/api/schema/"
        return metadata

    def determine_actions(self, request, view):
        return {}
