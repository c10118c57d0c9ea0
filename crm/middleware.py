"""Resolves the active tenant of each request from the session and the user's memberships.

The session stores only the id of the tenant the user picked; it is re-checked against the user's
memberships on every request, so a stale or forged session value can never reach another tenant.
"""

from crm.selectors import memberships_of_user

SESSION_KEY = "active_tenant_id"


class ActiveTenantMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.tenant = None
        request.membership = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
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
        else:
            request.memberships = []
        return self.get_response(request)


def activate_tenant(request, membership) -> None:
    """Make one of the user's memberships the active one for this session."""
    request.session[SESSION_KEY] = membership.tenant_id
    request.membership = membership
    request.tenant = membership.tenant
