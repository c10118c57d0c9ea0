"""Hand-built score rows for the weekly-list tests (the scoring job is not under test here)."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from opportunities.models import CustomerLeavingRisk, ScoreMethod, VehicleReplacementScore
from tests.factories import CustomerFactory, VehicleFactory

SCORED_AT = datetime(2026, 11, 30, 3, 0, tzinfo=timezone.get_fixed_timezone(540))


def replacement(vehicle, *, value, probability=0.5, method=ScoreMethod.MODEL, facts=None):
    """A replacement score worth `value` yen (expected margin = value / probability)."""
    return VehicleReplacementScore.objects.for_tenant(vehicle.tenant_id).create(
        tenant_id=vehicle.tenant_id,
        vehicle=vehicle,
        customer_id=vehicle.customer_id,
        probability=probability,
        expected_margin=round(value / probability),
        expected_value=value,
        method=method,
        facts=facts if facts is not None else {"mileage": 128000},
        scored_at=SCORED_AT,
    )


def leaving(customer, *, value, p_alive=0.4, facts=None):
    return CustomerLeavingRisk.objects.for_tenant(customer.tenant_id).create(
        tenant_id=customer.tenant_id,
        customer=customer,
        p_alive=p_alive,
        p_alive_month_ago=0.8,
        overdue_days=40,
        value=value * 2,
        expected_value=value,
        facts=facts if facts is not None else {"overdue_days": 40},
        scored_at=SCORED_AT,
    )


def owner_with_car(tenant, *, staff=None, **customer_fields):
    customer = CustomerFactory(tenant=tenant, assigned_staff=staff, **customer_fields)
    return customer, VehicleFactory(tenant=tenant, customer=customer)
