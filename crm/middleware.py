"""Resolves the active tenant of each request and makes it the database's tenant for the request.

The session stores only the id of the tenant the user picked; it is re-checked against the user's
memberships on every request, so a stale or forged session value can never reach another tenant.

The whole request runs in one transaction whose row-level-security settings (crm.rls) are
transaction-local: `app.user_id` (so the user's own memberships are readable before a tenant is
chosen), then `app.tenant_id` of the verified membership. They end with the transaction, so a
pooled connection never carries them into the next request. A response with a 5xx status rolls
the transaction back, as Django's ATOMIC_REQUESTS would.
"""

from django.db import transaction

from crm.rls import set_db_tenant, set_db_user, tenant_context
from crm.selectors import memberships_of_user

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
