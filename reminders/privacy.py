"""Reminders' share of a customer's personal data (APPI): what was sent, and stopping what was planned.

Registered with `customers.privacy` by `RemindersConfig.ready()`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crm.models import Tenant
from customers.models import Customer
from customers.privacy import PersonalDataPart, personal_rows
from reminders.models import Reminder, ReminderStatus


def export(*, tenant: Tenant, customer: Customer) -> dict[str, Any]:
    return {
        "reminders_sent": personal_rows(
            Reminder.objects.for_tenant(tenant)
            .filter(customer=customer, status=ReminderStatus.SENT)
            .order_by("sent_at", "pk"),
            ["id", "rule__name", "occasion_date", "sent_at"],
        ),
    }


def erase(*, tenant: Tenant, customer: Customer, now: datetime) -> dict[str, int]:
    """Planned reminders stop: nothing more goes out to an erased customer."""
    stopped = (
        Reminder.objects.for_tenant(tenant)
        .filter(customer_id=customer.pk, status__in=[ReminderStatus.PENDING, ReminderStatus.QUEUED])
        .update(status=ReminderStatus.SKIPPED, reason="customer erased", updated_at=now)
    )
    return {"reminders_stopped": stopped}


PERSONAL_DATA = PersonalDataPart(export=export, erase=erase)
