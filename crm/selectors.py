"""Reads of the tenancy core."""

from dataclasses import dataclass

from django.http import Http404

from crm.models import AuditEvent, Membership, Tenant, User
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


@dataclass(frozen=True)
class MemberWorkload:
    """What a member still holds in one tenant: what a successor takes over when they leave."""

    customers: int
    open_deals: int
    open_calls: int

    @property
    def any(self) -> bool:
        return bool(self.customers or self.open_deals or self.open_calls)


def member_workload(*, tenant: Tenant, user: User) -> MemberWorkload:
    """Customers assigned to `user`, their open deals and open call tasks, in `tenant` only."""
    from customers.models import Customer
    from interactions.models import OPEN_DEAL_STAGES, CallTask, CallTaskStatus, Deal

    return MemberWorkload(
        customers=Customer.objects.for_tenant(tenant).filter(assigned_staff=user).count(),
        open_deals=Deal.objects.for_tenant(tenant).filter(owner=user, stage__in=OPEN_DEAL_STAGES).count(),
        open_calls=CallTask.objects.for_tenant(tenant)
        .filter(assigned_to=user, status=CallTaskStatus.OPEN)
        .count(),
    )


def audit_events(*, tenant: Tenant, action: str = "", user_id: int | None = None, since=None, until=None):
    """The tenant's audit trail, newest first, filtered by action, acting user and local dates."""
    qs = AuditEvent.objects.for_tenant(tenant).select_related("actor_user", "actor_api_key")
    if action:
        qs = qs.filter(action=action)
    if user_id:
        qs = qs.filter(actor_user_id=user_id)
    if since:
        qs = qs.filter(created_at__date__gte=since)
    if until:
        qs = qs.filter(created_at__date__lte=until)
    return qs.order_by("-created_at", "-id")
