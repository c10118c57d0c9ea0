"""The demo shops and their staff: a dealership and a garage, with a login for every role."""

from __future__ import annotations

from dataclasses import dataclass

from crm.models import Membership, Tenant, User
from crm.tenancy.rls import tenant_context
from crm.tenancy.roles import Role
from crm.tenancy.services import membership_create, tenant_create

DEMO_PASSWORD = "kizuna-demo"  # noqa: S105 — documented demo login, never used outside demo tenants


@dataclass
class DemoUser:
    email: str
    display_name: str
    role: str


DEMO_TENANTS = {
    "demo-dealer": {
        "name": "デモ自動車 名古屋店",
        "kind": "dealer",
        "customers": 300,
        "sender_email": "info@dealer.demo",
        "phone": "052-123-4567",
        "address": "愛知県名古屋市中区栄1-2-3",
        "domain": "dealer.demo",
    },
    "demo-garage": {
        "name": "デモ整備工場",
        "kind": "garage",
        "customers": 180,
        "sender_email": "info@garage.demo",
        "phone": "045-987-6543",
        "address": "神奈川県横浜市港北区新横浜2-3-4",
        "domain": "garage.demo",
    },
}
STAFF_NAMES = {"owner": "オーナー 佐藤", "manager": "店長 鈴木", "staff": "営業 高橋", "viewer": "事務 田中"}


def demo_users(domain: str) -> list[DemoUser]:
    return [DemoUser(f"{role}@{domain}", name, role) for role, name in STAFF_NAMES.items()]


def demo_tenant_with_staff(slug: str, spec: dict, *, with_team: bool) -> tuple[Tenant, list[int]]:
    """The shop `slug` (created from `spec` if missing) and the ids of its owner, managers and staff.

    With `with_team` the whole demo team (every role) gets a login; otherwise only the owner.
    """
    users = demo_users(spec["domain"])
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        tenant = tenant_create(
            slug=slug,
            name=spec["name"],
            owner_email=users[0].email,
            owner_password=DEMO_PASSWORD,
            sender_email=spec.get("sender_email", ""),
            sender_name=spec["name"],
            phone=spec.get("phone", ""),
            address=spec.get("address", ""),
        )
    with tenant_context(tenant.pk):
        return tenant, _team(tenant, users if with_team else users[:1])


def _team(tenant: Tenant, users: list[DemoUser]) -> list[int]:
    for demo_user in users:
        user = User.objects.filter(email=demo_user.email).first()
        if user is None:
            user = User.objects.create_user(
                email=demo_user.email, password=DEMO_PASSWORD, display_name=demo_user.display_name
            )
        elif not user.display_name:
            user.display_name = demo_user.display_name
            user.save(update_fields=["display_name"])
        if not Membership.objects.for_tenant(tenant).filter(user=user).exists():
            membership_create(tenant=tenant, user=user, role=demo_user.role)
    staff_ids = list(
        Membership.objects.for_tenant(tenant)
        .filter(role__in=[Role.OWNER, Role.MANAGER, Role.STAFF])
        .order_by("user__email")
        .values_list("user_id", flat=True)
    )
    return staff_ids
