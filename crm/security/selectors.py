"""Reads of the audit trail."""

from crm.models import AuditEvent, Tenant


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
