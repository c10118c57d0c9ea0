"""Campaign audiences on hand-built customers: each filter, their combination, and bad input."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from analytics.models import CustomerRFM
from customers.models import CustomerTag, Tag
from reminders.campaigns.audience import add_months, audience_clean, audience_customers
from tests.factories import CustomerFactory, PurchaseFactory, ServiceRecordFactory, VehicleFactory

pytestmark = pytest.mark.django_db

ON = date(2026, 6, 15)


def _tag(tenant, customer, name):
    tag, _ = Tag.objects.for_tenant(tenant).get_or_create(tenant=tenant, name=name)
    CustomerTag.objects.create(tenant=tenant, customer=customer, tag=tag)


def _names(tenant, audience, on=ON):
    clean = audience_clean(tenant=tenant, data=audience)
    return sorted(
        audience_customers(tenant=tenant, audience=clean, on=on).values_list("given_name", flat=True)
    )


@pytest.fixture
def shop(tenant, other_tenant):
    """Seven customers of shop A (and one of shop B who matches everything)."""
    people = {n: CustomerFactory(tenant=tenant, given_name=n) for n in "abcdefg"}
    _tag(tenant, people["a"], "vip")
    _tag(tenant, people["b"], "vip")
    _tag(tenant, people["c"], "fleet")
    # 車検 (inspection_expiry) relative to ON = 2026-06-15: a in 1 month, b in 2, c in 3, d in 4, e in 5
    for n, months in zip("abcde", [1, 2, 3, 4, 5], strict=True):
        VehicleFactory(customer=people[n], inspection_expiry=add_months(ON, months))
    VehicleFactory(customer=people["f"], inspection_expiry=add_months(ON, 3), status="sold")
    # visits: a last came 2025-03-01, b 2025-12-01, c only bought (2024-05-01), d a refund only, e none
    ServiceRecordFactory(vehicle=people["a"].vehicles.get(), date=date(2025, 3, 1))
    ServiceRecordFactory(vehicle=people["b"].vehicles.get(), date=date(2025, 1, 1))
    ServiceRecordFactory(vehicle=people["b"].vehicles.get(), date=date(2025, 12, 1))
    PurchaseFactory(customer=people["c"], date=date(2024, 5, 1))
    PurchaseFactory(customer=people["d"], date=date(2024, 5, 1), is_refund=True, amount=-100, gross_profit=0)
    # erased customer g is never in an audience
    people["g"].erased_at = timezone.now()
    people["g"].save()
    foreign = CustomerFactory(tenant=other_tenant, given_name="z")
    _tag(other_tenant, foreign, "vip")
    VehicleFactory(customer=foreign, inspection_expiry=add_months(ON, 3))
    return people


def test_empty_audience_is_every_customer_but_the_erased(tenant, shop):
    assert _names(tenant, {}) == ["a", "b", "c", "d", "e", "f"]


def test_tags_match_any_of_them(tenant, shop):
    assert _names(tenant, {"tags": ["vip"]}) == ["a", "b"]
    assert _names(tenant, {"tags": ["vip", "fleet"]}) == ["a", "b", "c"]


def test_inspection_in_two_to_four_months_counts_owned_vehicles_only(tenant, shop):
    assert _names(tenant, {"inspection_in_months": [2, 4]}) == ["b", "c", "d"]
    # relative to the send date: sent a month later, b drops out and e comes in
    assert _names(tenant, {"inspection_in_months": [2, 4]}, on=date(2026, 7, 15)) == ["c", "d", "e"]
    assert _names(tenant, {"inspection_in_months": [0, 1]}) == ["a"]


def test_last_visit_before_needs_a_visit_and_none_since(tenant, shop):
    assert _names(tenant, {"last_visit_before": "2025-06-01"}) == ["a", "c"]
    assert _names(tenant, {"last_visit_before": "2026-01-01"}) == ["a", "b", "c"]


def test_conditions_combine(tenant, shop):
    assert _names(tenant, {"tags": ["vip", "fleet"], "inspection_in_months": [2, 4]}) == ["b", "c"]
    assert _names(tenant, {"tags": ["vip"], "last_visit_before": "2025-06-01"}) == ["a"]


def test_segment_from_the_registry(tenant, shop):
    for n, segment in [("a", "at_risk"), ("b", "champions"), ("c", "at_risk")]:
        CustomerRFM.objects.create(
            tenant=tenant, customer=shop[n], as_of=ON, computed_at=timezone.now(), segment=segment
        )
    assert _names(tenant, {"segment": "at_risk"}) == ["a", "c"]


@pytest.mark.parametrize(
    "audience, message",
    [
        ({"colour": "red"}, "Unknown audience fields: colour"),
        ({"segment": "nope"}, "Unknown segment: nope"),
        ({"segment": ["at_risk"]}, "Unknown segment"),
        ({"last_visit_before": 20260101}, "Last visit before: enter a date as YYYY-MM-DD."),
        ({"inspection_in_months": [True, 2]}, "車検 months"),
        ({"tags": [3]}, "Tags must be a list of tag names."),
        ({"tags": ["missing"]}, "Unknown tags: missing"),
        ({"tags": "vip"}, "Tags must be a list of tag names."),
        ({"inspection_in_months": [4, 2]}, "車検 months"),
        ({"inspection_in_months": [1]}, "車検 months"),
        ({"inspection_in_months": [0, 99]}, "車検 months"),
        ({"last_visit_before": "next tuesday"}, "Last visit before: enter a date as YYYY-MM-DD."),
        (["vip"], "The audience must be an object."),
    ],
)
def test_bad_audiences_are_refused_with_a_reason(tenant, shop, audience, message):
    with pytest.raises(ValidationError) as exc:
        audience_clean(tenant=tenant, data=audience)
    assert message in " ".join(exc.value.messages)


def test_another_shops_tag_is_unknown_here(tenant, other_tenant):
    Tag.objects.create(tenant=other_tenant, name="theirs")
    with pytest.raises(ValidationError):
        audience_clean(tenant=tenant, data={"tags": ["theirs"]})


def test_add_months_keeps_the_day_or_takes_the_last_of_a_short_month():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 15), 3) == date(2027, 2, 15)
    assert add_months(date(2026, 6, 15), 0) == date(2026, 6, 15)
