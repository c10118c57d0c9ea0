"""The weekly list is built set-based: N per staff member by expected value, one entry per customer,
dismissals kept for the shop's period, acted-on entries kept across refreshes."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm.tenancy.roles import Role
from customers.models import Customer
from interactions.models import DealStage
from opportunities.models import EntryKind, EntryStatus, WorklistEntry, WorklistSettings
from opportunities.worklist import week_of, worklist_refresh
from tests.conftest import _member
from tests.factories import CustomerFactory, DealFactory, VehicleFactory
from tests.opportunities.scores import leaving, owner_with_car, replacement

pytestmark = pytest.mark.django_db

WEEK = date(2026, 11, 30)  # a Monday
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=timezone.get_fixed_timezone(540))  # Wednesday of that week


def listed(tenant, week=WEEK):
    """(staff email or None, rank, customer given name, kind, vehicle id or None, expected value)."""
    rows = (
        WorklistEntry.objects.for_tenant(tenant)
        .filter(week=week, status__in=[EntryStatus.OPEN, EntryStatus.ACTED])
        .order_by(F("staff__email").asc(nulls_last=True), "rank")
        .values_list("staff__email", "rank", "customer__given_name", "kind", "vehicle_id", "expected_value")
    )
    return list(rows)


def test_week_of_is_the_monday():
    assert week_of(date(2026, 12, 3)) == WEEK
    assert week_of(WEEK) == WEEK
    assert week_of(date(2026, 12, 6)) == WEEK


def test_each_staff_member_gets_their_top_n_by_expected_value(tenant, staff, manager):
    WorklistSettings.objects.create(tenant=tenant, per_staff=2, dismiss_days=90)
    cars = {}
    for name, value in [("a1", 100_000), ("a2", 300_000), ("a3", 200_000)]:
        _c, cars[name] = owner_with_car(tenant, staff=staff, given_name=name)
        replacement(cars[name], value=value)
    _c, car = owner_with_car(tenant, staff=manager, given_name="m1")
    replacement(car, value=50_000)
    nobody = CustomerFactory(tenant=tenant, given_name="u1")
    leaving(nobody, value=70_000)

    added = worklist_refresh(tenant=tenant, now=NOW)

    assert added == 4
    assert listed(tenant) == [
        ("manager@shop-a.test", 1, "m1", "replacement", car.pk, 50_000),
        ("staff@shop-a.test", 1, "a2", "replacement", cars["a2"].pk, 300_000),
        ("staff@shop-a.test", 2, "a3", "replacement", cars["a3"].pk, 200_000),
        (None, 1, "u1", "leaving", None, 70_000),
    ]


def test_one_entry_per_customer_their_best_opportunity(tenant, staff):
    customer, old_car = owner_with_car(tenant, staff=staff, given_name="two-cars")
    new_car = VehicleFactory(tenant=tenant, customer=customer)
    replacement(old_car, value=90_000, probability=0.3, facts={"mileage": 150000})
    replacement(new_car, value=20_000)
    leaving(customer, value=60_000)
    other, car = owner_with_car(tenant, staff=staff, given_name="leaving-wins")
    replacement(car, value=10_000)
    leaving(other, value=40_000)

    worklist_refresh(tenant=tenant, now=NOW)

    assert listed(tenant) == [
        ("staff@shop-a.test", 1, "two-cars", "replacement", old_car.pk, 90_000),
        ("staff@shop-a.test", 2, "leaving-wins", "leaving", None, 40_000),
    ]
    entry = WorklistEntry.objects.for_tenant(tenant).get(customer=customer)
    assert (entry.probability, entry.expected_margin, entry.method) == (0.3, 300_000, "model")
    assert entry.facts == {"mileage": 150000}
    risk = WorklistEntry.objects.for_tenant(tenant).get(customer=other)
    assert (round(risk.probability, 6), risk.expected_margin, risk.method) == (0.6, 80_000, "")


def test_customers_of_a_viewer_or_a_former_member_go_to_the_unassigned_bucket(tenant, other_tenant):
    viewer = _member(tenant, Role.VIEWER)
    gone = _member(other_tenant, Role.STAFF)  # a member of another shop only
    for name, who in [("of-viewer", viewer), ("of-gone", gone)]:
        _c, car = owner_with_car(tenant, given_name=name)
        Customer.objects.for_tenant(tenant).filter(pk=car.customer_id).update(assigned_staff=who)
        replacement(car, value=10_000 if who == viewer else 20_000)

    worklist_refresh(tenant=tenant, now=NOW)

    assert [(s, r, n) for s, r, n, *_rest in listed(tenant)] == [(None, 1, "of-gone"), (None, 2, "of-viewer")]


def test_erased_customers_those_with_an_open_deal_and_zero_values_are_left_out(tenant, staff):
    erased, car = owner_with_car(tenant, staff=staff, given_name="erased")
    replacement(car, value=500_000)
    Customer.objects.for_tenant(tenant).filter(pk=erased.pk).update(erased_at=NOW)
    dealing, car = owner_with_car(tenant, staff=staff, given_name="dealing")
    replacement(car, value=400_000)
    DealFactory(tenant=tenant, customer=dealing, stage=DealStage.NEGOTIATION)
    lost, car = owner_with_car(tenant, staff=staff, given_name="lost-deal")
    replacement(car, value=300_000)
    DealFactory(tenant=tenant, customer=lost, stage=DealStage.LOST, lost_reason="price")
    _c, car = owner_with_car(tenant, staff=staff, given_name="worthless")
    replacement(car, value=0)

    worklist_refresh(tenant=tenant, now=NOW)

    assert [n for _s, _r, n, *_rest in listed(tenant)] == ["lost-deal"]


def test_refresh_twice_keeps_acted_entries_and_replaces_the_untouched(tenant, staff):
    WorklistSettings.objects.create(tenant=tenant, per_staff=2, dismiss_days=90)
    cars = {}
    for name, value in [("top", 300_000), ("second", 200_000), ("third", 100_000)]:
        _c, cars[name] = owner_with_car(tenant, staff=staff, given_name=name)
        replacement(cars[name], value=value)
    worklist_refresh(tenant=tenant, now=NOW)
    second = WorklistEntry.objects.for_tenant(tenant).get(customer__given_name="second")
    WorklistEntry.objects.for_tenant(tenant).filter(pk=second.pk).update(
        status=EntryStatus.ACTED, acted_at=NOW
    )
    # A new, better customer scored since: it takes the untouched "top"'s place, above "second".
    _c, car = owner_with_car(tenant, staff=staff, given_name="new-best")
    replacement(car, value=900_000)

    added = worklist_refresh(tenant=tenant, now=NOW)

    assert added == 1
    assert [(r, n) for _s, r, n, *_rest in listed(tenant)] == [(1, "new-best"), (2, "second")]
    assert WorklistEntry.objects.for_tenant(tenant).get(customer__given_name="second").pk == second.pk
    assert worklist_refresh(tenant=tenant, now=NOW) == 1
    assert WorklistEntry.objects.for_tenant(tenant).count() == 2


def test_a_dismissed_customer_stays_off_for_the_shops_period_then_comes_back(tenant, staff):
    WorklistSettings.objects.create(tenant=tenant, per_staff=20, dismiss_days=30)
    customer, car = owner_with_car(tenant, staff=staff, given_name="dismissed")
    replacement(car, value=100_000)
    leaving(customer, value=10_000)
    worklist_refresh(tenant=tenant, week=WEEK - timedelta(days=7), now=NOW - timedelta(days=7))
    WorklistEntry.objects.for_tenant(tenant).update(status=EntryStatus.DISMISSED, dismissed_at=NOW)

    worklist_refresh(tenant=tenant, now=NOW)
    # Dismissed as a replacement: the customer's leaving risk may still be listed.
    assert [(n, k) for _s, _r, n, k, *_rest in listed(tenant)] == [("dismissed", EntryKind.LEAVING)]

    later = NOW + timedelta(days=31)
    worklist_refresh(tenant=tenant, week=week_of(later.date()), now=later)
    assert [(n, k) for _s, _r, n, k, *_rest in listed(tenant, week_of(later.date()))] == [
        ("dismissed", EntryKind.REPLACEMENT)
    ]


def test_one_shop_never_lists_another_shops_customers(tenant, other_tenant, staff):
    _c, car = owner_with_car(other_tenant, given_name="elsewhere")
    replacement(car, value=100_000)
    _c, car = owner_with_car(tenant, staff=staff, given_name="ours")
    replacement(car, value=1_000)

    assert worklist_refresh(tenant=tenant, now=NOW) == 1
    assert [n for _s, _r, n, *_rest in listed(tenant)] == ["ours"]
    assert WorklistEntry.objects.for_tenant(other_tenant).count() == 0


def test_the_refresh_is_a_fixed_number_of_statements_whatever_the_shop_size(tenant, staff):
    for i in range(30):
        _c, car = owner_with_car(tenant, staff=staff if i % 2 else None, given_name=f"c{i}")
        replacement(car, value=1_000 * (i + 1))

    with CaptureQueriesContext(connection) as queries:
        worklist_refresh(tenant=tenant, now=NOW)

    assert WorklistEntry.objects.for_tenant(tenant).count() == 30
    assert len([q for q in queries.captured_queries if "worklistentry" in q["sql"].lower()]) <= 3


@pytest.mark.postgres
def test_the_refresh_plans_without_nested_loops_and_gives_the_setting_back(tenant, staff):
    _c, car = owner_with_car(tenant, staff=staff, given_name="a1")
    replacement(car, value=100_000)
    with CaptureQueriesContext(connection) as queries:
        assert worklist_refresh(tenant=tenant, now=NOW) == 1
    statements = [q["sql"] for q in queries.captured_queries]
    insert = next(i for i, sql in enumerate(statements) if sql.lstrip().startswith("WITH cand AS"))
    assert statements[insert - 1] == "SELECT set_config('enable_nestloop', 'off', true)"
    assert statements[insert + 1] == "SELECT set_config('enable_nestloop', 'on', true)"  # given back
    with connection.cursor() as cursor:  # the caller's transaction (the test's) plans as usual again
        cursor.execute("SHOW enable_nestloop")
        assert cursor.fetchone()[0] == "on"
