"""Resolves the active tenant of each request and makes it the database's tenant for the request.

The session stores only the id of the tenant the user picked; it is re-checked against the user's
memberships on every request, so a stale or forged session value can never reach another tenant.

The whole request runs in one transaction whose row-level-security settings (crm.tenancy.rls) are
transaction-local: `app.user_id` (so the user's own memberships are readable before a tenant is
chosen), then `app.tenant_id` of the verified membership. They end with the transaction, so a
pooled connection never carries them into the next request. A response with a 5xx status rolls
the transaction back, as Django's ATOMIC_REQUESTS would.
"""

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import HttpResponseForbidden
from django.shortcuts import redirect
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _
from django_otp import user_has_device

from crm.tenancy.rls import set_db_tenant, set_db_user, tenant_context
from crm.tenancy.roles import Role
from crm.tenancy.selectors import memberships_of_user

SESSION_KEY = "active_tenant_id"


class ActiveTenantMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if not (user is not None and user.is_authenticated) and "HTTP_AUTHORIZATION" not in request.META:
            # Anonymous and no API key: no tenant, so row-level security shows no tenant rows anyway
            # (the public unsubscribe page sets its tenant from the signed token itself).
            request.tenant = None
            request.membership = None
            request.memberships = []
            return self.get_response(request)
        with transaction.atomic():
            response = self._resolve_and_respond(request)
            if response.status_code >= 500:
                transaction.set_rollback(True)
        if response.streaming and not getattr(response, "is_async", False):
            # A streamed body (CSV exports) is produced after this transaction has ended, by the
            # server iterating it: give the iteration its own transaction with the same tenant.
            tenant = getattr(request, "tenant", None)
            response.streaming_content = _in_tenant_transaction(
                response.streaming_content, tenant.pk if tenant is not None else None
            )
        return response

    def _resolve_and_respond(self, request):
        request.tenant = None
        request.membership = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            set_db_user(user.pk)
            memberships = list(memberships_of_user(user=user))
            request.memberships = memberships
            wanted = request.session.get(SESSION_KEY)
            chosen = next((m for m in memberships if m.tenant_id == wanted), None)
            if chosen is None and len(memberships) == 1:
                chosen = memberships[0]
                request.session[SESSION_KEY] = chosen.tenant_id
            if chosen is not None:
                request.membership = chosen
                request.tenant = chosen.tenant
                set_db_tenant(chosen.tenant_id)
        else:
            request.memberships = []
        return self.get_response(request)


# Pages a person who still has to complete two-factor may open: setting it up, logging in or out,
# choosing another shop, the language switch.
TWO_FACTOR_EXEMPT_URL_NAMES = ("two_factor", "login", "login_otp", "logout", "tenant_picker", "set_language")


class TwoFactorRequiredMiddleware:
    """Enforces Tenant.require_two_factor for the active membership (after ActiveTenantMiddleware and
    the message middleware: it needs both)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        membership = getattr(request, "membership", None)
        if membership is not None:
            refused = _two_factor_required_response(request, membership)
            if refused is not None:
                return refused
        return self.get_response(request)


def _two_factor_required_response(request, membership):
    """A redirect (or 403) when the shop requires two-factor and this owner/manager session lacks it.

    Without an authenticator the person is sent to set one up; with one (this session logged in
    before it existed, e.g. on another device), they log in again and enter a code. API keys are
    not sessions and are not affected (they never reach here with a user).
    """
    if not membership.tenant.require_two_factor or membership.role not in (Role.OWNER, Role.MANAGER):
        return None
    if request.user.is_verified():
        return None
    try:
        url_name = resolve(request.path_info).url_name  # the view is not resolved yet in a middleware
    except Resolver404:
        url_name = None
    if url_name in TWO_FACTOR_EXEMPT_URL_NAMES:
        return None
    if request.headers.get("HX-Request") or request.path_info.startswith("/api/"):
        return HttpResponseForbidden(_("This shop requires two-factor authentication."))
    if user_has_device(request.user, confirmed=True):
        logout(request)
        messages.info(request, _("This shop requires two-factor authentication: log in with your code."))
        return redirect_to_login(request.get_full_path())
    messages.warning(
        request,
        _("%(shop)s requires two-factor authentication for owners and managers. Set it up to continue.")
        % {"shop": membership.tenant.name},
    )
    return redirect("two_factor")


def _in_tenant_transaction(chunks, tenant_id):
    with tenant_context(tenant_id):
        yield from chunks


def activate_tenant(request, membership) -> None:
    """Make one of the user's memberships the active one for this session (and this request's queries)."""
    request.session[SESSION_KEY] = membership.tenant_id
    request.membership = membership
    request.tenant = membership.tenant
    if transaction.get_connection().in_atomic_block:
        set_db_tenant(membership.tenant_id)
