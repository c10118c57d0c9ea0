"""Permission checks for dashboard views: an active tenant, and a role high enough for the method.

A view declares what reading needs (default: any member) and what writing needs (default: staff).
A viewer who posts gets 403; a request without an active tenant goes to the tenant picker.
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect

from crm.tenancy.roles import Role

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def tenant_view(*, read: str = Role.VIEWER, write: str = Role.STAFF):
    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if request.tenant is None:
                return redirect("tenant_picker")
            needed = read if request.method in SAFE_METHODS else write
            if not request.membership.has_role(needed):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


class TenantViewMixin:
    """Class-based equivalent of `tenant_view`."""

    read_role = Role.VIEWER
    write_role = Role.STAFF

    def dispatch(self, request, *args, **kwargs):
        checked = tenant_view(read=self.read_role, write=self.write_role)(super().dispatch)
        return checked(request, *args, **kwargs)
