"""API keys: create, revoke, and authenticate (the raw key is shown once and never stored)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.http import Http404
from django.utils import timezone

from crm.models import ApiKey, ApiKeyScope, AuditAction, Tenant, User
from crm.security.audit import audit_record
from crm.tenancy.rls import set_db_api_key_hash, set_db_tenant

KEY_PREFIX = "kzn_"
PREFIX_SHOWN = 12  # "kzn_" + 8 random characters: enough to tell keys apart in a list, useless to guess
LAST_USED_RESOLUTION = timedelta(minutes=1)  # write last_used_at at most once a minute per key


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_key_create(*, tenant: Tenant, name: str, scope: str, created_by: User | None) -> tuple[ApiKey, str]:
    """Create a key for an integration. Returns the key row and the raw key, which is shown only once."""
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        tenant=tenant,
        name=name,
        scope=ApiKeyScope(scope),
        prefix=raw[:PREFIX_SHOWN],
        hashed_key=hash_key(raw),
        created_by=created_by,
    )
    key.full_clean()
    key.save()
    audit_record(
        tenant=tenant,
        action=AuditAction.API_KEY_CREATED,
        target=key,
        actor=created_by,
        summary=f"{key.name} ({key.prefix}…, {key.scope})",
        changes={"scope": [None, key.scope]},
    )
    return key, raw


@transaction.atomic
def api_key_revoke(*, tenant: Tenant, key_id: int) -> ApiKey:
    """Revoke a key of this tenant (404 for another tenant's key). Revoking twice keeps the first time."""
    key = ApiKey.objects.for_tenant(tenant).select_for_update().filter(pk=key_id).first()
    if key is None:
        raise Http404
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit_record(
            tenant=tenant,
            action=AuditAction.API_KEY_REVOKED,
            target=key,
            summary=f"{key.name} ({key.prefix}…)",
        )
    return key


def api_keys_of_tenant(*, tenant: Tenant):
    return ApiKey.objects.for_tenant(tenant).select_related("created_by").order_by("-created_at")


@transaction.atomic(savepoint=False)  # inside the request's transaction: no savepoint round trips
def api_key_authenticate(*, raw: str) -> ApiKey | None:
    """The active key matching a raw key, with its tenant; None for unknown or revoked keys.

    On PostgreSQL the key's tenant becomes the database tenant of the current transaction (crm.tenancy.rls),
    so the caller's request runs on that tenant's rows only.
    """
    if not raw.startswith(KEY_PREFIX) or len(raw) > 200:
        return None
    hashed = hash_key(raw)
    # Crosses tenants on purpose: the key is what tells us the tenant. Row-level security admits
    # exactly the row whose hash was presented, before any tenant is known.
    set_db_api_key_hash(hashed)
    key = ApiKey.objects.unscoped().select_related("tenant").filter(hashed_key=hashed).first()
    if key is None or key.revoked_at is not None:
        return None
    set_db_tenant(key.tenant_id)
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.for_tenant(key.tenant_id).filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key
