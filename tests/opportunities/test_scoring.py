"""Replacement scores on hand-built shops: features, the rule-based fallback, margins, who is scored,
the switch to the learned model at 30 replacements, and the shop setting that turns it on and off."""

from datetime import date, timedelta

import pytest

from crm.tenancy.rls import tenant_context
from customers.models import ServiceKind
from opportunities.models import ReplacementFit, VehicleReplacementScore
from opportunities.reasons import replacement_reason
from opportunities.services import (
    opportunities_refresh,
    opportunity_settings_update,
    replacement_fit,
    replacement_scores_refresh,
)
from tests.factories import (
    CustomerFactory,
    PurchaseFactory,
    ServiceRecordFactory,
    TenantFactory,
    VehicleFactory,
)

AS_OF = date(2026, 5, 1)


def _sale(vehicle, day, gross_profit, code="new_car"):
    return PurchaseFactory(
        customer=vehicle.customer,
        vehicle=vehicle,
        date=day,
        category_code=code,
        amount=gross_profit * 10,
        gross_profit=gross_profit,
    )


@pytest.fixture
def shop(tenant):
    """A: 7th year, 車検 on 2026-06-10 (its third), ~122,000 km, repairs rising; B: 10 years old, no
    readings; C: replaced its first car (still marked owned) with a new one in October 2025."""
    with tenant_context(tenant.pk):
        a = VehicleFactory(
            customer=CustomerFactory(tenant=tenant),
            first_registration=date(2019, 6, 10),
            inspection_expiry=date(2026, 6, 10),
        )
        _sale(a, date(2019, 6, 10), 300_000)
        ServiceRecordFactory(vehicle=a, date=date(2024, 5, 1), mileage=100_000)
        ServiceRecordFactory(vehicle=a, date=date(2026, 3, 1), mileage=120_000)
        ServiceRecordFactory(vehicle=a, date=date(2026, 1, 10), kind=ServiceKind.REPAIR, amount=180_000)
        ServiceRecordFactory(vehicle=a, date=date(2025, 2, 1), kind=ServiceKind.REPAIR, amount=40_000)
        b = VehicleFactory(
            customer=CustomerFactory(tenant=tenant),
            first_registration=date(2016, 4, 1),
            inspection_expiry=None,
        )
        _sale(b, date(2024, 3, 1), 200_000, code="used_car")
        c_customer = CustomerFactory(tenant=tenant)
        c1 = VehicleFactory(customer=c_customer, first_registration=date(2022, 1, 15), inspection_expiry=None)
        _sale(c1, date(2022, 1, 15), 250_000)
        c2 = VehicleFactory(customer=c_customer, first_registration=date(2025, 10, 1), inspection_expiry=None)
        _sale(c2, date(2025, 10, 1), 260_000)
    return {"a": a, "b": b, "c1": c1, "c2": c2}


def _scores(tenant):
    with tenant_context(tenant.pk):
        return {s.vehicle_id: s for s in VehicleReplacementScore.objects.for_tenant(tenant)}


def test_rule_based_scores_of_a_small_shop(tenant, other_tenant, shop):
    with tenant_context(other_tenant.pk):
        stranger = VehicleFactory(
            customer=CustomerFactory(tenant=other_tenant), first_registration=date(2010, 1, 1)
        )
        _sale(stranger, date(2015, 1, 1), 900_000)
    with tenant_context(tenant.pk):
        scored = replacement_scores_refresh(tenant=tenant, as_of=AS_OF)
        fit = ReplacementFit.objects.for_tenant(tenant).get()
    assert (fit.method, fit.events) == ("rules", 1)  # only C's replacement: far below 30
    scores = _scores(tenant)
    # C's first car was replaced (even though still marked owned): not scored; the other shop's car neither.
    assert scored == 3 and set(scores) == {shop["a"].pk, shop["b"].pk, shop["c2"].pk}
    a, b, c2 = scores[shop["a"].pk], scores[shop["b"].pk], scores[shop["c2"].pk]
    # Margin: the average gross profit of the vehicle sales of the last 3 years (B's 200,000, C2's 260,000).
    assert (a.expected_margin, b.expected_margin) == (230_000, 230_000)
    # A: 5 % base + 10 high mileage + 10 repairs rising (6.9 years old: not yet "7 years at its 車検").
    assert a.method == "rules" and a.probability == pytest.approx(0.25) and a.expected_value == 57_500
    assert a.customer_id == shop["a"].customer_id
    assert a.facts == {
        "probability": 0.25,
        "method": "rules",
        "age_years": 6,
        "repairs_12m": 180_000,
        "next_inspection": "2026-06-10",
        "inspection_number": 3,
        "mileage": 122_000,  # 120,000 on 1 March + 61 days at 10,919 km a year, to the nearest 1,000
        "rules": ["high_mileage", "repairs_rising"],
    }
    assert replacement_reason(a.facts, language="en") == (
        "3rd 車検 in June, 122,000 km, repairs ¥180,000 in 12 months → 25 % chance to replace within 6 months"
        " (rule-based estimate)"
    )
    assert b.probability == pytest.approx(0.05) and b.expected_value == 11_500
    assert b.facts == {"probability": 0.05, "method": "rules", "age_years": 10, "repairs_12m": 0, "rules": []}
    assert c2.facts["age_years"] == 0 and c2.probability == pytest.approx(0.05)


def test_old_car_at_its_inspection_meets_the_first_rule(tenant):
    with tenant_context(tenant.pk):
        old = VehicleFactory(
            customer=CustomerFactory(tenant=tenant),
            first_registration=date(2017, 8, 1),  # 8 years 9 months; its 9-year 車検 in August 2026
            inspection_expiry=date(2026, 8, 1),
        )
        _sale(old, date(2017, 8, 1), 150_000)
        opportunity_settings_update(tenant=tenant, replacement_margin=100_000)
        replacement_scores_refresh(tenant=tenant, as_of=AS_OF)
    score = _scores(tenant)[old.pk]
    assert score.probability == pytest.approx(0.20) and score.facts["rules"] == ["old_at_inspection"]
    assert (score.expected_margin, score.expected_value) == (100_000, 20_000)  # the shop's own margin
    assert score.facts["inspection_number"] == 4


def _replacing_shop(tenant, replacements: int, stayers: int = 40):
    """`replacements` customers who bought a second car 300 days before AS_OF, 800 days after the first,
    and `stayers` who kept theirs."""
    with tenant_context(tenant.pk):
        for i in range(replacements + stayers):
            first = VehicleFactory(
                customer=CustomerFactory(tenant=tenant),
                first_registration=AS_OF - timedelta(days=800 + 365 * (i % 9)),
                inspection_expiry=None,
            )
            _sale(first, AS_OF - timedelta(days=800), 200_000)
            ServiceRecordFactory(vehicle=first, date=AS_OF - timedelta(days=500), mileage=10_000 * (i % 12))
            if i < replacements:
                second = VehicleFactory(
                    customer=first.customer, first_registration=AS_OF - timedelta(days=300)
                )
                _sale(second, AS_OF - timedelta(days=300), 220_000)


@pytest.mark.parametrize(("replacements", "method"), [(29, "rules"), (30, "model")])
def test_the_model_takes_over_from_30_replacements(tenant, replacements, method):
    _replacing_shop(tenant, replacements)
    with tenant_context(tenant.pk):
        fit = replacement_fit(tenant=tenant, as_of=AS_OF)
        replacement_scores_refresh(tenant=tenant, as_of=AS_OF, fit=fit)
    assert (fit.method, fit.events) == (method, replacements)
    assert bool(fit.params) is (method == "model")
    assert {s.method for s in _scores(tenant).values()} == {method}


def test_garage_without_vehicle_sales_is_off_until_it_turns_it_on(db):
    garage = TenantFactory(slug="garage-x")
    with tenant_context(garage.pk):
        car = VehicleFactory(customer=CustomerFactory(tenant=garage), first_registration=date(2015, 1, 1))
        ServiceRecordFactory(vehicle=car, date=date(2025, 1, 1), mileage=150_000)
        assert replacement_scores_refresh(tenant=garage, as_of=AS_OF) == 0
        assert not VehicleReplacementScore.objects.for_tenant(garage).exists()
        opportunity_settings_update(tenant=garage, replacement_enabled=True)
        assert replacement_scores_refresh(tenant=garage, as_of=AS_OF) == 1
        score = VehicleReplacementScore.objects.for_tenant(garage).get()
        assert score.expected_margin == 200_000  # no vehicle sales of its own: the default referral value
        opportunity_settings_update(tenant=garage, replacement_enabled=False)
        assert replacement_scores_refresh(tenant=garage, as_of=AS_OF) == 0
        assert not VehicleReplacementScore.objects.for_tenant(garage).exists()


def test_bad_settings_are_refused_and_change_nothing(tenant):
    from django.core.exceptions import ValidationError

    with tenant_context(tenant.pk):
        opportunity_settings_update(tenant=tenant, leaving_top_deciles=4)
        with pytest.raises(ValidationError):
            opportunity_settings_update(tenant=tenant, leaving_top_deciles=11)
        from opportunities.services import opportunity_settings_get

        assert opportunity_settings_get(tenant=tenant).leaving_top_deciles == 4


def test_a_refresh_updates_the_rows_in_place_adds_new_cars_and_drops_those_no_longer_at_risk(tenant, shop):
    with tenant_context(tenant.pk):
        replacement_scores_refresh(tenant=tenant, as_of=AS_OF)
    before = _scores(tenant)
    with tenant_context(tenant.pk):
        shop["b"].status = "sold"
        shop["b"].save()
        shop["c2"].customer = CustomerFactory(tenant=tenant)  # the car changed hands
        shop["c2"].save()
        d = VehicleFactory(
            customer=CustomerFactory(tenant=tenant),
            first_registration=date(2020, 1, 1),
            inspection_expiry=None,
        )
        _sale(d, date(2020, 1, 1), 100_000)
        assert replacement_scores_refresh(tenant=tenant, as_of=AS_OF + timedelta(days=30)) == 3
    after = _scores(tenant)
    assert set(after) == {shop["a"].pk, shop["c2"].pk, d.pk}  # B sold: its row is gone
    a, c2 = after[shop["a"].pk], after[shop["c2"].pk]
    assert (a.pk, c2.pk) == (before[shop["a"].pk].pk, before[shop["c2"].pk].pk)  # the same rows, rewritten
    assert c2.customer_id == shop["c2"].customer_id != before[shop["c2"].pk].customer_id
    assert a.scored_at > before[shop["a"].pk].scored_at
    # 30 days on: 91 days since the last reading, 120,000 + 91 × 10,919 / 365.25 ≈ 122,720 km.
    assert a.facts == {
        "probability": 0.25,
        "method": "rules",
        "age_years": 6,
        "repairs_12m": 180_000,
        "next_inspection": "2026-06-10",
        "inspection_number": 3,
        "mileage": 123_000,
        "rules": ["high_mileage", "repairs_rising"],
    }
    assert after[d.pk].facts == {
        "probability": 0.05,
        "method": "rules",
        "age_years": 6,
        "repairs_12m": 0,
        "rules": [],
    }
    assert after[d.pk].customer_id == d.customer_id and after[d.pk].expected_value == 11_500


def test_a_fit_night_scores_exactly_as_a_plain_night(tenant):
    """The weekly refit must not change the scores: scoring reads the live history on both nights. (The
    fit's longer history keeps readings older than 6½ years in their own half-years, where the live one
    pools them; with a replaced odometer the two once gave this car different mileages.)"""
    with tenant_context(tenant.pk):
        car = VehicleFactory(
            customer=CustomerFactory(tenant=tenant),
            first_registration=date(2008, 4, 1),
            inspection_expiry=None,
        )
        _sale(car, date(2008, 4, 1), 180_000)
        # 150,000 km in 2012, then a new meter: 20,000 km in 2018 (both more than 6½ years ago).
        for day, km in ((date(2012, 4, 1), 150_000), (date(2018, 4, 1), 20_000)):
            ServiceRecordFactory(
                customer=car.customer,
                vehicle=car,
                date=day,
                kind=ServiceKind.SHAKEN,
                mileage=km,
                amount=50_000,
            )
        fit_night = opportunities_refresh(tenant=tenant, as_of=AS_OF, force_fit=True)
        on_fit_night = _scores(tenant)[car.pk].facts
        plain_night = opportunities_refresh(tenant=tenant, as_of=AS_OF)
        on_plain_night = _scores(tenant)[car.pk].facts
    assert (fit_night["fitted"], plain_night["fitted"]) == (True, False)
    assert on_fit_night == on_plain_night
