"""The funnel and treated / held-out rows on hand-built reminders, visits and bookings: every expected
number is written out (docs/analytics.md, "Results of reminders"), on SQLite and PostgreSQL."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from customers.models import Customer, Purchase, PurchaseCategory, ServiceRecord, Vehicle
from reminders.models import Reminder
from results import selectors
from results.models import FunnelMonthly, UpliftMonthly
from results.services import results_refresh
from tests.factories import CustomerFactory, PurchaseFactory, ServiceRecordFactory, VehicleFactory
from tests.results.helpers import make_booking, make_reminder, make_rule

AS_OF = date(2026, 6, 30)
OPENED = datetime(2026, 3, 2, 9, tzinfo=ZoneInfo("Asia/Tokyo"))


@pytest.fixture
def history(tenant, other_tenant):
    rule = make_rule(tenant, attribution_days=60)
    a, b, c, d, e, f = (CustomerFactory(tenant=tenant) for _ in range(6))
    # A: two steps sent by e-mail, opened and clicked the first, booked from it, came on 3/20.
    a1 = make_reminder(rule, a, date(2026, 3, 1), opened_at=OPENED, clicked_at=OPENED)
    make_reminder(rule, a, date(2026, 3, 15), step=2)
    make_booking(a1, status="confirmed")
    ServiceRecordFactory(vehicle=VehicleFactory(customer=a), date=date(2026, 3, 20), amount=80_000)
    # B: by LINE; the booking was cancelled, the purchase came 75 days later (outside 60), a refund
    # inside the window is not a visit.
    b1 = make_reminder(rule, b, date(2026, 3, 1), channel="line")
    make_booking(b1, status="cancelled")
    PurchaseFactory(customer=b, date=date(2026, 5, 15), amount=30_000)
    PurchaseFactory(customer=b, date=date(2026, 3, 5), amount=-1_000, is_refund=True, gross_profit=0)
    # C: no consent, a call task instead; came the same day.
    make_reminder(rule, c, date(2026, 4, 10), status="call_task", channel="")
    ServiceRecordFactory(vehicle=VehicleFactory(customer=c), date=date(2026, 4, 10), amount=5_000)
    # D and E: held out; D came anyway.
    make_reminder(rule, d, date(2026, 3, 1), status="held_out", channel="")
    ServiceRecordFactory(vehicle=VehicleFactory(customer=d), date=date(2026, 3, 10), amount=50_000)
    make_reminder(rule, e, date(2026, 3, 1), status="held_out", channel="")
    # F: not due yet.
    make_reminder(rule, f, date(2026, 7, 15), status="pending", channel="")
    # A booking confirmation is a transactional message, not a reminder.
    confirm = make_rule(tenant, name="予約確認", kind="booking_confirmation", holdout=0)
    make_reminder(confirm, a, date(2026, 3, 18))
    # Another shop's reminder and visit stay there.
    other_rule = make_rule(other_tenant)
    stranger = CustomerFactory(tenant=other_tenant)
    make_reminder(other_rule, stranger, date(2026, 3, 1))
    ServiceRecordFactory(vehicle=VehicleFactory(customer=stranger), date=date(2026, 3, 2), amount=9_000)
    return {"rule": rule, "confirm": confirm, "other_rule": other_rule}


def _check(tenant, history):
    rule = history["rule"]
    funnel = {
        (r.rule_id, r.step, r.channel, r.month.isoformat()): (
            r.planned, r.sent, r.opened, r.clicked, r.booked, r.visited, r.revenue)
        for r in FunnelMonthly.objects.for_tenant(tenant)
    }  # fmt: skip
    assert funnel == {
        (rule.pk, 1, "email", "2026-03-01"): (1, 1, 1, 1, 1, 1, 80_000),
        (rule.pk, 2, "email", "2026-03-01"): (1, 1, 0, 0, 0, 1, 80_000),
        (rule.pk, 1, "line", "2026-03-01"): (1, 1, 0, 0, 0, 0, 0),
        (rule.pk, 1, "", "2026-04-01"): (1, 0, 0, 0, 0, 1, 5_000),
    }
    uplift = {
        (r.rule_id, r.month.isoformat(), r.held_out): (r.customers, r.visited, r.revenue, r.revenue_sq)
        for r in UpliftMonthly.objects.for_tenant(tenant)
    }
    assert uplift == {
        (rule.pk, "2026-03-01", False): (2, 1, 80_000, 6.4e9),
        (rule.pk, "2026-04-01", False): (1, 1, 5_000, 2.5e7),
        (rule.pk, "2026-03-01", True): (2, 1, 50_000, 2.5e9),
    }


def test_refresh_rows_exact(tenant, history):
    assert results_refresh(tenant=tenant, as_of=AS_OF) == {"funnel_rows": 4, "uplift_rows": 3}
    _check(tenant, history)
    results_refresh(tenant=tenant, as_of=AS_OF)  # idempotent
    _check(tenant, history)


@pytest.mark.postgres
def test_refresh_rows_exact_postgres(tenant, history):
    results_refresh(tenant=tenant, as_of=AS_OF)
    _check(tenant, history)


def test_rule_results_and_overview(tenant, history):
    results_refresh(tenant=tenant, as_of=AS_OF)
    result = selectors.rule_results(tenant=tenant, rule=history["rule"], months=6, as_of=AS_OF)
    assert {k: result["totals"][k] for k in ("planned", "sent", "visited", "revenue")} == {
        "planned": 4, "sent": 3, "visited": 3, "revenue": 165_000}  # fmt: skip
    assert [(s["key"], s["planned"], s["visited"]) for s in result["by_step"]] == [(1, 3, 2), (2, 1, 1)]
    assert [(s["key"], s["planned"]) for s in result["by_channel"]] == [("", 1), ("email", 2), ("line", 1)]
    assert (result["uplift"].treated.customers, result["uplift"].treated.visited) == (3, 2)
    assert (result["uplift"].held.customers, result["uplift"].held.visited) == (2, 1)
    assert round(result["uplift"].rate.estimate, 4) == round(2 / 3 - 1 / 2, 4)
    march = next(m for m in result["trend"] if m["month"] == date(2026, 3, 1))
    assert (march["treated"].customers, march["held"].customers, march["funnel"]["planned"]) == (2, 2, 3)
    overview = selectors.results_overview(tenant=tenant)
    assert [o["rule"].pk for o in overview] == [history["rule"].pk]  # not the booking confirmation
    assert overview[0]["planned"] == 4


def test_no_holdout_rule_says_effect_cannot_be_measured(tenant):
    rule = make_rule(tenant, holdout=0)
    customer = CustomerFactory(tenant=tenant)
    make_reminder(rule, customer, date(2026, 3, 1))
    results_refresh(tenant=tenant, as_of=AS_OF)
    (row,) = selectors.results_overview(tenant=tenant)
    assert not row["uplift"].measurable
    assert row["summaries"]["en"] == "No control group: the effect cannot be measured."


def _planted_shop(tenant, n=1_000, seed=11):
    """n customers of one rule, a fifth held out; visit chance 20 % held out, 40 % reminded."""
    rule = make_rule(tenant, holdout=20, attribution_days=30)
    rng = np.random.default_rng(seed)
    customers = Customer.objects.bulk_create(
        [Customer(tenant=tenant, family_name=f"客{i}") for i in range(n)]
    )
    vehicles = Vehicle.objects.bulk_create(
        [Vehicle(tenant=tenant, customer=c, maker="ホンダ", model_name="フィット") for c in customers]
    )
    held = rng.random(n) < 0.2
    visits = rng.random(n) < np.where(held, 0.20, 0.40)
    due = date(2026, 2, 1)
    Reminder.objects.bulk_create(
        [
            Reminder(tenant=tenant, rule=rule, step=1, customer=c, occasion_date=due, due_date=due,
                     status="held_out" if h else "sent", channel="" if h else "email")
            for c, h in zip(customers, held, strict=True)
        ]
    )  # fmt: skip
    ServiceRecord.objects.bulk_create(
        [
            ServiceRecord(tenant=tenant, customer=c, vehicle=v, date=date(2026, 2, 10), kind="repair",
                          amount=20_000)
            for c, v, hit in zip(customers, vehicles, visits, strict=True) if hit
        ]
    )  # fmt: skip
    # A visit long after the window is no evidence either way.
    category = PurchaseCategory.objects.for_tenant(tenant).get(code="parts")
    Purchase.objects.create(tenant=tenant, customer=customers[0], date=date(2026, 5, 1), amount=1,
                            category=category)  # fmt: skip
    return rule, int(held.sum()), int(visits[held].sum()), int((~held).sum()), int(visits[~held].sum())


def _check_planted(tenant):
    rule, n_held, v_held, n_treated, v_treated = _planted_shop(tenant)
    results_refresh(tenant=tenant, as_of=AS_OF)
    result = selectors.rule_results(tenant=tenant, rule=rule, as_of=AS_OF)["uplift"]
    assert (result.treated.customers, result.treated.visited) == (n_treated, v_treated)
    assert (result.held.customers, result.held.visited) == (n_held, v_held)
    assert result.treated.revenue == 20_000 * v_treated
    assert result.rate.low <= 0.20 <= result.rate.high  # covers the planted +20 points
    assert result.rate.low > 0


def test_planted_effect_end_to_end(tenant):
    _check_planted(tenant)


@pytest.mark.postgres
def test_planted_effect_end_to_end_postgres(tenant):
    _check_planted(tenant)
