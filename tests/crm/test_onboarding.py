"""The tenancy core's registries: each app registers its part of a new shop and of a member's work, and
the core reaches the apps only through them (crm.tenancy.onboarding, crm.tenancy.handover)."""

import pytest
from django.apps import apps

from bookings import services as booking_services
from crm.models import Membership
from crm.tenancy import handover, onboarding
from crm.tenancy.handover import MemberWorkload, handover_recorders, member_work_kinds, member_workload
from crm.tenancy.onboarding import tenant_defaults
from crm.tenancy.services import tenant_create
from customers import selectors as customer_selectors
from customers import services as customer_services
from customers.models import PurchaseCategory
from interactions import selectors as interaction_selectors
from interactions import services as interaction_services
from interactions.models import DealStage
from reminders import services as reminder_services
from reminders.models import ReminderRule, ReminderTemplate
from tests.factories import CallTaskFactory, CustomerFactory, DealFactory

pytestmark = pytest.mark.django_db


def test_each_app_registers_its_tenant_defaults_in_app_order():
    assert tenant_defaults() == [
        ("customers", customer_services.purchase_categories_create_defaults),
        ("reminders", reminder_services.reminder_defaults_create),
        ("bookings", booking_services.booking_defaults_create),
    ]


def test_each_app_registers_its_member_work_in_app_order():
    kinds = [(k.app_label, k.name, k.count, k.reassign, k.moved_key) for k in member_work_kinds()]
    assert kinds == [
        (
            "customers",
            "customers",
            customer_selectors.customers_assigned_count,
            customer_services.customers_reassign,
            "customers_moved",
        ),
        (
            "interactions",
            "open_deals",
            interaction_selectors.open_deals_count,
            interaction_services.open_deals_reassign,
            "deals_moved",
        ),
        (
            "interactions",
            "open_calls",
            interaction_selectors.open_call_tasks_count,
            interaction_services.open_call_tasks_reassign,
            "calls_moved",
        ),
    ]
    assert handover_recorders() == [customer_services.member_handover_record]


def test_a_second_ready_registers_nothing_twice():
    before = (tenant_defaults(), member_work_kinds(), handover_recorders())
    for label in ("customers", "interactions", "reminders", "bookings"):
        apps.get_app_config(label).ready()
    assert (tenant_defaults(), member_work_kinds(), handover_recorders()) == before


def test_tenant_create_gives_the_new_shop_each_apps_defaults_through_the_registry(monkeypatch):
    seen = []

    def workspace_defaults(*, tenant):
        # Runs last (workspace is the last app): the apps below have given theirs already.
        seen.append(
            (
                tenant.slug,
                PurchaseCategory.objects.for_tenant(tenant).count(),
                ReminderRule.objects.for_tenant(tenant).count(),
            )
        )

    monkeypatch.setitem(onboarding._registry, "workspace", [workspace_defaults])

    tenant = tenant_create(slug="new-shop", name="新しい店", owner_email="owner@new-shop.test")

    categories = PurchaseCategory.objects.for_tenant(tenant)
    assert sorted(categories.values_list("code", flat=True)) == sorted(
        c for c, _ in PurchaseCategory.DEFAULTS
    )
    rules = ReminderRule.objects.for_tenant(tenant)
    assert rules.count() == len(reminder_services.DEFAULT_RULES)
    assert ReminderTemplate.objects.for_tenant(tenant).count() == 2 * len(reminder_services.DEFAULT_RULES)
    assert seen == [("new-shop", len(PurchaseCategory.DEFAULTS), len(reminder_services.DEFAULT_RULES))]
    owner = Membership.objects.for_tenant(tenant).get()
    assert (owner.user.email, owner.role) == ("owner@new-shop.test", "owner")


def test_member_workload_counts_every_registered_kind(tenant, staff, manager):
    mine = CustomerFactory.create_batch(2, tenant=tenant, assigned_staff=staff)
    CustomerFactory(tenant=tenant, assigned_staff=manager)
    DealFactory(customer=mine[0], owner=staff, stage=DealStage.PROPOSAL)
    DealFactory(customer=mine[1], owner=staff, stage=DealStage.WON)
    CallTaskFactory(customer=mine[0], assigned_to=staff)

    work = member_workload(tenant=tenant, user=staff)

    assert dict(work) == {"customers": 2, "open_deals": 1, "open_calls": 1}
    assert (work.customers, work.open_deals, work.open_calls, work.any) == (2, 1, 1, True)
    assert work.audit_changes() == {"customers_moved": 2, "deals_moved": 1, "calls_moved": 1}
    assert dict(member_workload(tenant=tenant, user=manager)) == {
        "customers": 1,
        "open_deals": 0,
        "open_calls": 0,
    }


def test_a_workload_knows_only_registered_kinds():
    empty = MemberWorkload()
    assert dict(empty) == {"customers": 0, "open_deals": 0, "open_calls": 0} and not empty.any
    with pytest.raises(AttributeError):
        _ = empty.vehicles
    with pytest.raises(ValueError, match="vehicles"):
        MemberWorkload({"vehicles": 1})


def test_member_work_hand_over_moves_each_kind_then_lets_each_app_record_it(
    tenant, owner, staff, manager, monkeypatch
):
    customer = CustomerFactory(tenant=tenant, assigned_staff=staff)
    CallTaskFactory(customer=customer, assigned_to=staff)
    recorded = []
    monkeypatch.setitem(
        handover._recorders,
        "workspace",
        [lambda **kwargs: recorded.append((kwargs["moved"], kwargs["performed_by"]))],
    )

    moved = handover.member_work_hand_over(
        tenant=tenant, from_user=staff, to_user=manager, performed_by=owner, names=["customers", "open_calls"]
    )

    assert dict(moved) == {"customers": 1, "open_deals": 0, "open_calls": 1}
    assert recorded == [(moved, owner)]
    assert dict(member_workload(tenant=tenant, user=manager)) == {
        "customers": 1,
        "open_deals": 0,
        "open_calls": 1,
    }
