"""Write use-cases of the tenancy core: creating a shop, its settings, and its members."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from crm.common.errors import ApplicationError
from crm.common.services import model_update
from crm.models import AuditAction, Membership, Tenant, User
from crm.security.audit import audit_record
from crm.tenancy.handover import MemberWorkload, member_work_hand_over, member_workload
from crm.tenancy.onboarding import tenant_defaults_create
from crm.tenancy.rls import tenant_context
from crm.tenancy.roles import Role
from crm.tenancy.selectors import tenant_workers


@transaction.atomic
def tenant_create(
    *, slug: str, name: str, owner_email: str, owner_password: str | None = None, **fields
) -> Tenant:
    """Create a tenant with its owner (a new or existing user) and every app's defaults (the default
    purchase categories, the default reminder rules with Japanese and English templates…), so a new
    shop starts working at once. The apps register their defaults in crm.tenancy.onboarding."""
    tenant = Tenant(slug=slug, name=name, **fields)
    tenant.full_clean()
    tenant.save()
    owner = User.objects.filter(email__iexact=owner_email).first()
    if owner is None:
        owner = User.objects.create_user(email=owner_email, password=owner_password)
    # The new tenant's rows may only be written with it as the database tenant (crm.tenancy.rls); the
    # caller's tenant, if any, comes back afterwards.
    with tenant_context(tenant.pk):
        membership_create(tenant=tenant, user=owner, role=Role.OWNER)
        tenant_defaults_create(tenant=tenant)
    return tenant


@transaction.atomic
def tenant_settings_update(*, tenant: Tenant, fields: list[str], data: dict[str, Any]) -> Tenant:
    """Change the shop's own settings; a change is audited with the old and new values (who turned
    required two-factor off, or changed the sender address, is a question asked later)."""
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    before = {f: getattr(tenant, f) for f in fields}
    tenant, changed = model_update(instance=tenant, fields=fields, data=data)
    if changed:
        after = {f: getattr(tenant, f) for f in fields}
        diff = {f: [str(before[f]), str(after[f])] for f in fields if before[f] != after[f]}
        audit_record(
            tenant=tenant,
            action=AuditAction.SETTINGS_CHANGED,
            target=tenant,
            summary=", ".join(diff),
            changes=diff,
        )
    return tenant


@transaction.atomic
def membership_create(*, tenant: Tenant, user: User, role: str) -> Membership:
    membership = Membership(tenant=tenant, user=user, role=role)
    membership.full_clean()
    membership.save()
    audit_record(
        tenant=tenant,
        action=AuditAction.MEMBER_ADDED,
        target=membership,
        summary=f"{user.email} ({role})",
        changes={"user": user.pk, "role": [None, role]},
    )
    return membership


@transaction.atomic
def membership_set_role(*, tenant: Tenant, membership: Membership, role: str) -> Membership:
    """Change a member's role. A tenant always keeps at least one owner."""
    if membership.tenant_id != tenant.pk:
        raise ApplicationError(_("Member not found."))
    if membership.role == Role.OWNER and role != Role.OWNER:
        # Reading the rows locks them (a COUNT would not): two demotions at once cannot both pass.
        owners = list(Membership.objects.for_tenant(tenant).filter(role=Role.OWNER).select_for_update())
        if len(owners) <= 1:
            raise ApplicationError(_("A tenant must keep at least one owner."))
    previous = membership.role
    membership.role = role
    membership.full_clean()
    membership.save(update_fields=["role"])
    if previous != role:
        audit_record(
            tenant=tenant,
            action=AuditAction.MEMBER_ROLE_CHANGED,
            target=membership,
            summary=f"{membership.user.email}: {previous} → {role}",
            changes={"user": membership.user_id, "role": [previous, role]},
        )
    return membership


@transaction.atomic
def membership_remove(
    *, tenant: Tenant, membership: Membership, successor: User | None = None, performed_by: User
) -> MemberWorkload:
    """Remove a member who left the shop; their customers, open deals and open calls go to `successor`.

    The person loses access at their next request (the middleware re-reads memberships). A successor
    is required while they still hold work here. A tenant always keeps at least one owner, and nobody
    removes themselves (another owner does). All or nothing: any refusal leaves every row as it was.
    The work is whatever the apps registered in crm.tenancy.handover; each app records its part of
    the handover (customers: a `Handover` row). Returns what was handed over.
    """
    if membership.tenant_id != tenant.pk:
        raise ApplicationError(_("Member not found."))
    # The owners and the leaving row, locked in one statement in a fixed order: two owners removing
    # each other at once cannot both succeed (the second sees one owner left) nor deadlock.
    locked = list(
        Membership.objects.for_tenant(tenant)
        .filter(Q(role=Role.OWNER) | Q(pk=membership.pk))
        .select_for_update()
        .order_by("pk")
    )
    current = next((m for m in locked if m.pk == membership.pk), None)
    if current is None:
        raise ApplicationError(_("Member not found."))
    user = current.user
    if current.user_id == performed_by.pk:
        raise ApplicationError(_("You cannot remove yourself: ask another owner."))
    if current.role == Role.OWNER and sum(m.role == Role.OWNER for m in locked) <= 1:
        raise ApplicationError(_("A tenant must keep at least one owner."))
    if successor is not None:
        if successor.pk == user.pk:
            raise ApplicationError(_("Choose a different staff member to hand over to."))
        if not tenant_workers(tenant=tenant).filter(pk=successor.pk).exists():
            raise ApplicationError(_("Hand over to a member of this shop who works with customers."))
    work = member_workload(tenant=tenant, user=user)
    if work.any and successor is None:
        raise ApplicationError(
            _("This member still has customers, open deals or open calls: choose who takes them over.")
        )
    moved = MemberWorkload()
    if successor is not None and work.any:
        moved = member_work_hand_over(
            tenant=tenant,
            from_user=user,
            to_user=successor,
            performed_by=performed_by,
            names=[name for name, held in work.items() if held],
        )
    membership_id = current.pk
    current.delete()
    audit_record(
        tenant=tenant,
        action=AuditAction.MEMBER_REMOVED,
        target_type=Membership._meta.label_lower,
        target_id=membership_id,
        actor=performed_by,
        summary=f"{user.email} ({current.role})" + (f" → {successor.email}" if successor else ""),
        changes={
            "user": user.pk,
            "role": [current.role, None],
            "successor": successor.pk if successor else None,
            **moved.audit_changes(),
        },
    )
    return moved
