"""Opportunities' part of a customer's personal data (APPI disclosure and erasure): the scores kept
about the customer and their vehicles, the monthly P(alive) snapshots, and their weekly-list entries
with the actions and notes.

Registered with `customers.privacy` by `OpportunitiesConfig.ready()`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crm.models import Tenant
from customers.models import Customer
from customers.privacy import PersonalDataPart, personal_rows
from opportunities.models import (
    CustomerLeavingRisk,
    PAliveSnapshot,
    VehicleReplacementScore,
    WorklistAction,
    WorklistEntry,
)


def export(*, tenant: Tenant, customer: Customer) -> dict[str, Any]:
    scores = VehicleReplacementScore.objects.for_tenant(tenant).filter(customer=customer).order_by("pk")
    risks = CustomerLeavingRisk.objects.for_tenant(tenant).filter(customer=customer)
    snapshots = PAliveSnapshot.objects.for_tenant(tenant).filter(customer=customer).order_by("month")
    entries = WorklistEntry.objects.for_tenant(tenant).filter(customer=customer).order_by("week", "pk")
    actions = WorklistAction.objects.for_tenant(tenant).filter(entry__customer=customer).order_by("pk")
    return {
        "replacement_scores": personal_rows(
            scores, ["vehicle_id", "probability", "expected_value", "method", "facts", "scored_at"]
        ),
        "leaving_risk": personal_rows(
            risks, ["p_alive", "p_alive_month_ago", "overdue_days", "value", "facts", "scored_at"]
        ),
        "p_alive_by_month": personal_rows(snapshots, ["month", "p_alive"]),
        "weekly_list": personal_rows(
            entries, ["week", "kind", "vehicle_id", "probability", "expected_value", "facts", "status"]
        ),
        "weekly_list_actions": personal_rows(
            actions, ["entry_id", "action", "object_id", "dismiss_reason", "note", "created_at"]
        ),
    }


def erase(*, tenant: Tenant, customer: Customer, now: datetime) -> dict[str, int]:
    """Scores and snapshots go (they are derived, and an erased customer is nobody to call); list
    entries keep only their counts (the hit rate), without the facts about the customer or the notes
    staff wrote."""
    deleted = 0
    for model in (VehicleReplacementScore, CustomerLeavingRisk, PAliveSnapshot):
        deleted += model.objects.for_tenant(tenant).filter(customer_id=customer.pk).delete()[0]
    entries = (
        WorklistEntry.objects.for_tenant(tenant).filter(customer=customer).update(facts={}, updated_at=now)
    )
    WorklistAction.objects.for_tenant(tenant).filter(entry__customer=customer).update(note="")
    return {"scores_deleted": deleted, "worklist_entries_cleared": entries}


PERSONAL_DATA = PersonalDataPart(export=export, erase=erase)
