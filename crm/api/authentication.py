"""API keys as credentials: `Authorization: Bearer <key>` (the AUTHENTICATION setting of DRF).

DRF imports the classes named in its settings while `rest_framework.views` itself is still loading;
this module (like permissions, throttling, pagination and metadata) therefore imports only light DRF
modules.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from crm.api.keys import api_key_authenticate
from crm.models import ApiKey


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
