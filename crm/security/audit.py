"""The audit trail: `audit_record()` appends one event; the helpers find who acted and from where.

Services call `audit_record()` where the change happens. The actor and IP come from the `request`
argument when the caller has one, else from the request this thread is serving (set by
`AuditRequestMiddleware`), so a service called from a dashboard view, an API view or the public
unsubscribe link is attributed without threading the request through every signature. Celery
tasks and management commands have no request: their events have no actor ("system").

What an event may hold: ids, field names, and old → new values of non-personal fields only (see
`AuditEvent`). Personal values (names, contact details, addresses, notes) never enter the trail.
"""

from __future__ import annotations

import contextvars
import ipaddress
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import connection, models
from django.db.models.signals import pre_delete
from django.dispatch import receiver

from crm.models import ApiKey, AuditAction, AuditEvent, Tenant, User

_current_request: contextvars.ContextVar = contextvars.ContextVar("kizuna_audit_request", default=None)

# Customer fields whose values are personal data: audited as "changed", never with their values.
PERSONAL_FIELDS = frozenset(
    {
        "family_name",
        "given_name",
        "family_name_kana",
        "given_name_kana",
        "email",
        "phone",
        "postal_code",
        "prefecture",
        "address",
        "birthday",
        "gender",
        "notes",
        "external_ref",
        "plate_number",
        "vin",
        "summary",
    }
)
CHANGED = "(changed)"  # stands in for the values of a personal field


class AuditRequestMiddleware:
    """Remembers the request being served, for `audit_record()` calls deep inside services."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            _current_request.reset(token)


def current_request():
    return _current_request.get()


def client_ip(request) -> str | None:
    """The client's IP: REMOTE_ADDR, or the right-most untrusted X-Forwarded-For hop when the
    deployment says how many proxies it runs behind (`AUDIT_TRUSTED_PROXY_COUNT`, default 0).

    Counting from the right matters: the left of X-Forwarded-For is whatever the client wrote.
    """
    if request is None:
        return None
    candidate = request.META.get("REMOTE_ADDR") or ""
    proxies = int(getattr(settings, "AUDIT_TRUSTED_PROXY_COUNT", 0) or 0)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies > 0 and forwarded:
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        if len(hops) >= proxies:
            candidate = hops[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


def request_actor(request) -> tuple[User | None, ApiKey | None, str]:
    """(user, API key, label) of whoever sent the request; (None, None, "") when anonymous."""
    if request is None:
        return None, None, ""
    user = getattr(request, "user", None)
    key = getattr(user, "key", None)  # crm.api.authentication.ApiKeyUser
    if isinstance(key, ApiKey):
        return None, key, f"API key {key.name} ({key.prefix}…)"[:200]
    if user is not None and getattr(user, "is_authenticated", False) and isinstance(user, User):
        return user, None, user.email[:200]
    return None, None, ""


def field_changes(
    before: dict[str, Any], after: dict[str, Any], *, personal: Iterable[str] = PERSONAL_FIELDS
) -> dict[str, Any]:
    """{field: [old, new]} for changed non-personal fields, {field: "(changed)"} for personal ones."""
    personal = set(personal)
    out: dict[str, Any] = {}
    for name, new in after.items():
        old = before.get(name)
        if old == new:
            continue
        out[name] = CHANGED if name in personal else [_plain(old), _plain(new)]
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, models.Model):
        return value.pk
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def audit_record(
    *,
    tenant: Tenant | int,
    action: str,
    target: models.Model | None = None,
    target_type: str = "",
    target_id: int | None = None,
    summary: str = "",
    changes: dict[str, Any] | None = None,
    request=None,
    actor: User | None = None,
) -> AuditEvent:
    """Append one audit event. `actor` overrides the request's user (e.g. a service told who acted)."""
    request = request if request is not None else current_request()
    user, key, label = request_actor(request)
    if actor is not None:
        user, key, label = actor, None, actor.email[:200]
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target.pk
    event = AuditEvent(
        tenant_id=getattr(tenant, "pk", tenant),
        action=AuditAction(action),
        actor_user=user,
        actor_api_key=key,
        actor_label=label,
        ip=client_ip(request),
        target_type=target_type[:40],
        target_id=target_id,
        summary=summary[:300],
        changes=changes or {},
    )
    event.save()
    return event


# --- deleting a whole tenant ------------------------------------------------------------------------
PURGE_SETTING = "kizuna.audit_purge_tenants"


@receiver(pre_delete, sender=Tenant, dispatch_uid="audit_allow_tenant_purge")
def _allow_tenant_purge(sender, instance: Tenant, **kwargs) -> None:
    """Deleting a tenant deletes its trail with it: the only DELETE the append-only trigger allows.

    The permission is transaction-local and names only the tenants being deleted in this transaction.
    """
    if connection.vendor != "postgresql" or not connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting(%s, true)", [PURGE_SETTING])
        current = [t for t in (cursor.fetchone()[0] or "").split(",") if t]
        current.append(str(int(instance.pk)))
        cursor.execute("SELECT set_config(%s, %s, true)", [PURGE_SETTING, ",".join(current)])
