"""Who may do what through the API: the tenant's role, or a key's scope (the PERMISSION setting)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import permissions

from crm.models import ApiKey, ApiKeyScope
from crm.tenancy.roles import EDIT_CUSTOMERS, Role, role_at_least

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


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
