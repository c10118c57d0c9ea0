"""seed_demo: deterministic, valid, realistic data."""

import hashlib
from datetime import date

import pytest
from django.core.management import call_command

from crm.models import Membership, Tenant
from customers.models import Customer, Purchase, ServiceRecord, Vehicle
from interactions.models import Interaction

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 23)


def _fingerprint(slug: str) -> str:
    """A digest of the tenant's data without ids or timestamps (which legitimately differ between runs)."""
    tenant = Tenant.objects.get(slug=slug)
    parts = []
    customers = Customer.objects.for_tenant(tenant).order_by("pk")
    parts += [
        repr(row)
        for row in customers.values_list(
            "family_name",
            "given_name",
            "family_name_kana",
            "email",
            "phone",
            "postal_code",
            "birthday",
            "consent",
            "acquisition_channel",
            "acquisition_cost",
        )
    ]
    parts += [
        repr(r)
        for r in Vehicle.objects.for_tenant(tenant)
        .order_by("pk")
        .values_list("maker", "model_name", "plate_number", "inspection_expiry", "mileage")
    ]
    parts += [
        repr(r)
        for r in Purchase.objects.for_tenant(tenant)
        .order_by("pk")
        .values_list("date", "category__code", "amount", "gross_profit", "is_refund")
    ]
    parts += [
        repr(r)
        for r in ServiceRecord.objects.for_tenant(tenant)
        .order_by("pk")
        .values_list("date", "kind", "amount", "next_due")
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _seed(seed: int) -> str:
    call_command("seed_demo", tenant="demo-dealer", customers=120, seed=seed, today=TODAY, reset=True)
    return _fingerprint("demo-dealer")


def test_same_seed_gives_the_same_data_and_another_seed_does_not():
    first = _seed(7)
    assert _seed(7) == first
    assert _seed(8) != first


def test_default_seed_creates_both_demo_shops_with_every_role():
    call_command("seed_demo", customers=40, today=TODAY)
    for slug, domain in (("demo-dealer", "dealer.demo"), ("demo-garage", "garage.demo")):
        tenant = Tenant.objects.get(slug=slug)
        roles = dict(Membership.objects.for_tenant(tenant).values_list("user__email", "role"))
        assert roles == {f"{r}@{domain}": r for r in ("owner", "manager", "staff", "viewer")}
        assert Customer.objects.for_tenant(tenant).count() == 40
    call_command("seed_demo", if_empty=True, customers=40, today=TODAY)  # a second `make run` adds nothing
    assert Customer.objects.unscoped().count() == 80


def test_demo_rows_pass_model_validation_and_look_like_a_shop():
    call_command("seed_demo", tenant="demo-dealer", customers=150, today=TODAY)
    tenant = Tenant.objects.get(slug="demo-dealer")
    for model in (Customer, Vehicle, Purchase, ServiceRecord, Interaction):
        for obj in model.objects.for_tenant(tenant).order_by("pk")[:150]:
            obj.full_clean()
    expiries = list(Vehicle.objects.for_tenant(tenant).values_list("inspection_expiry", flat=True))
    assert min(expiries) >= date(2026, 9, 24)  # nothing more than 60 days overdue
    # Spread over the next 24 months; only new cars bought this year have their first 車検 3 years out.
    within_24_months = sum(1 for d in expiries if d <= date(2028, 11, 23))
    assert within_24_months / len(expiries) >= 0.85
    assert max(expiries) <= date(2029, 11, 23)
    per_customer = (
        Purchase.objects.for_tenant(tenant).count() + ServiceRecord.objects.for_tenant(tenant).count()
    )
    assert per_customer / 150 > 3
    birthdays_today = Customer.objects.for_tenant(tenant).filter(birthday__month=11, birthday__day=23).count()
    assert birthdays_today >= 2
