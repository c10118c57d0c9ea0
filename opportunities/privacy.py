"""Opportunities' part of a customer's personal data (APPI disclosure and erasure): the scores kept
about the customer and their vehicles, and their weekly-list entries with the actions and notes.

Registered with `customers.privacy` by `OpportunitiesConfig.ready()`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crm.models import Tenant
from customers.models import Customer
from customers.privacy import PersonalDataPart, personal_rows
from opportunities.models import CustomerLeavingRisk, VehicleReplacementScore, WorklistAction, WorklistEntry


def export(*, tenant: Tenant, customer: Customer) -> dict[str, Any]:
    scores = VehicleReplacementScore.objects.for_tenant(tenant).filter(customer=customer).order_by("pk")
    risks = CustomerLeavingRisk.objects.for_tenant(tenant).filter(customer=customer)
    entries = WorklistEntry.objects.for_tenant(tenant).filter(customer=customer).order_by("week", "pk")
    actions = WorklistAction.objects.for_tenant(tenant).filter(entry__customer=customer).order_by("pk")
    return {
        "replacement_scores": personal_rows(
            scores, ["vehicle_id", "probability", "expected_value", "method", "facts", "scored_at"]
        ),
        "leaving_risk": personal_rows(
            risks, ["p_alive", "p_alive_month_ago", "overdue_days", "facts", "scored_at"]
        ),
        "weekly_list": personal_rows(
            entries, ["week", "kind", "vehicle_id", "probability", "expected_value", "facts", "status"]
        ),
        "weekly_list_actions": personal_rows(
            actions, ["entry_id", "action", "object_id", "dismiss_reason", "note", "created_at"]
        ),
    }


def erase(*, tenant: Tenant, customer: Customer, now: datetime) -> dict[str, int]:
    """Scores go (an erased customer is never listed again); list entries keep only their counts (the
    hit rate), without the facts about the customer or the notes staff wrote."""
    scores, _ = VehicleReplacementScore.objects.for_tenant(tenant).filter(customer=customer).delete()
    risks, _ = CustomerLeavingRisk.objects.for_tenant(tenant).filter(customer=customer).delete()
    entries = (
        WorklistEntry.objects.for_tenant(tenant).filter(customer=customer).update(facts={}, updated_at=now)
    )
    WorklistAction.objects.for_tenant(tenant).filter(entry__customer=customer).update(note="")
    return {"scores_deleted": scores + risks, "worklist_entries_cleared": entries}


PERSONAL_DATA = PersonalDataPart(export=export, erase=erase)
