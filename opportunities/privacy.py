"""Opportunities' share of a customer's personal data (APPI): their scores are disclosed; erasure
removes them (they are derived, and an erased customer is nobody to call).

Registered with `customers.privacy` by `OpportunitiesConfig.ready()`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crm.models import Tenant
from customers.models import Customer
from customers.privacy import PersonalDataPart, personal_rows
from opportunities.models import CustomerLeavingRisk, PAliveSnapshot, VehicleReplacementScore


def export(*, tenant: Tenant, customer: Customer) -> dict[str, Any]:
    return {
        "opportunities": {
            "replacement_scores": personal_rows(
                VehicleReplacementScore.objects.for_tenant(tenant).filter(customer=customer).order_by("pk"),
                ["vehicle_id", "probability", "expected_value", "method", "facts", "scored_at"],
            ),
            "leaving_risk": personal_rows(
                CustomerLeavingRisk.objects.for_tenant(tenant).filter(customer=customer),
                ["p_alive", "p_alive_month_ago", "overdue_days", "value", "facts", "scored_at"],
            ),
            "p_alive_by_month": personal_rows(
                PAliveSnapshot.objects.for_tenant(tenant).filter(customer=customer).order_by("month"),
                ["month", "p_alive"],
            ),
        }
    }


def erase(*, tenant: Tenant, customer: Customer, now: datetime) -> dict[str, int]:
    removed = 0
    for model in (VehicleReplacementScore, CustomerLeavingRisk, PAliveSnapshot):
        removed += model.objects.for_tenant(tenant).filter(customer_id=customer.pk).delete()[0]
    return {"opportunity_scores_removed": removed}


PERSONAL_DATA = PersonalDataPart(export=export, erase=erase)
