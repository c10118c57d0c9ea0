"""Write use-cases of the tenancy core, and the shared `model_update` helper."""

from __future__ import annotations

from typing import Any

from django.db import models, transaction
from django.utils.translation import gettext as _

from crm.audit import audit_record
from crm.errors import ApplicationError
from crm.models import AuditAction, Membership, Tenant, User
from crm.rls import tenant_context
from crm.roles import Role


def model_update(
    *, instance: models.Model, fields: list[str], data: dict[str, Any]
) -> tuple[models.Model, bool]:
    """Set the given fields from `data` (missing keys are left alone), validate, save only what changed.

    Returns the instance and whether anything changed. `updated_at` (auto_now) is saved with any change.
    """
    changed = []
    for field in fields:
        if field not in data:
            continue
        model_field = instance._meta.get_field(field)
        if isinstance(model_field, models.ManyToManyField):
            raise ValueError(f"model_update does not set many-to-many field {field!r}")
        if getattr(instance, field) != data[field]:
            setattr(instance, field, data[field])
            changed.append(field)
    if not changed:
        return instance, False
    instance.full_clean()
    update_fields = list(changed)
    update_fields += [f.name for f in instance._meta.concrete_fields if getattr(f, "auto_now", False)]
    instance.save(update_fields=update_fields)
    return instance, True


@transaction.atomic
def tenant_create(
    *, slug: str, name: str, owner_email: str, owner_password: str | None = None, **fields
) -> Tenant:
    """Create a tenant with its owner (a new or existing user), its default purchase categories and its
    default reminder rules with Japanese and English templates, so a new shop starts working at once."""
    from customers.services import purchase_categories_create_defaults
    from reminders.services import reminder_defaults_create

    tenant = Tenant(slug=slug, name=name, **fields)
    tenant.full_clean()
    tenant.save()
    owner = User.objects.filter(email__iexact=owner_email).first()
    if owner is None:
        owner = User.objects.create_user(email=owner_email, password=owner_password)
    # The new tenant's rows may only be written with it as the database tenant (crm.rls); the
    # caller's tenant, if any, comes back afterwards.
    with tenant_context(tenant.pk):
        membership_create(tenant=tenant, user=owner, role=Role.OWNER)
        purchase_categories_create_defaults(tenant=tenant)
        reminder_defaults_create(tenant=tenant)
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
        owners = Membership.objects.for_tenant(tenant).filter(role=Role.OWNER).select_for_update()
        if owners.count() <= 1:
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
