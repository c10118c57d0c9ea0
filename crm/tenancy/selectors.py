"""Reads of the tenancy core: a user's memberships, a shop's members and who may take over work."""

from django.http import Http404

from crm.models import Membership, Tenant, User
from crm.tenancy.roles import Role


def memberships_of_user(*, user: User):
    """All memberships of one user, across tenants: the tenant picker's list.

    Crosses tenants deliberately: it is keyed by the authenticated user, never by a client-sent id.
    """
    return Membership.objects.unscoped().filter(user=user).select_related("tenant").order_by("tenant__name")


def membership_get(*, user: User, tenant_id: int) -> Membership:
    """The user's membership in one tenant, or 404 (never reveal that the tenant exists)."""
    membership = memberships_of_user(user=user).filter(tenant_id=tenant_id).first()
    if membership is None:
        raise Http404
    return membership


def tenant_members(*, tenant: Tenant):
    return Membership.objects.for_tenant(tenant).select_related("user").order_by("user__email")


def tenant_workers(*, tenant: Tenant):
    """Members who may take over customers, deals and calls: staff and above (viewers only read)."""
    # One filter() call: both conditions on the same membership (two calls would join twice, and a
    # staff role in another shop would count).
    return User.objects.filter(
        memberships__tenant=tenant,
        memberships__role__in=[Role.STAFF, Role.MANAGER, Role.OWNER],
        is_active=True,
    ).order_by("display_name", "email")


def tenant_users(*, tenant: Tenant):
    """Users who belong to a tenant: the only users a tenant's rows may point at."""
    return User.objects.filter(memberships__tenant=tenant, is_active=True).order_by("display_name", "email")
