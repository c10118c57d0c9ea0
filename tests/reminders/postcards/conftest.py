"""Fixtures of the postcard tests: queued postcard reminders of hand-built customers."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from channels.models import MessageChannel
from customers.models import Customer
from reminders.models import Reminder, ReminderStatus, RuleKind
from tests.factories import CustomerFactory, VehicleFactory

TODAY = date(2026, 6, 1)


@pytest.fixture
def postcard_reminder(rules):
    """A queued postcard reminder (車検, step 1) of a customer, due `due` (default TODAY)."""

    def make(
        customer, *, due=TODAY, channel=MessageChannel.POSTCARD, status=ReminderStatus.QUEUED, rule=None
    ):
        vehicle = VehicleFactory(customer=customer, inspection_expiry=due + timedelta(days=60))
        return Reminder.objects.create(
            tenant=customer.tenant,
            rule=rule or rules[RuleKind.INSPECTION],
            step=1,
            customer=customer,
            vehicle=vehicle,
            occasion_date=due + timedelta(days=60),
            due_date=due,
            status=status,
            channel=channel,
        )

    return make


def postcard_customer(tenant, postal="150-0001", address="渋谷区神宮前1-1-1", **fields):
    customer = CustomerFactory(
        tenant=tenant, postal_code="150-0001", prefecture="東京都", address=address, **fields
    )
    # Imports and old rows can hold what the form refuses: write the raw value.
    Customer.objects.for_tenant(tenant).filter(pk=customer.pk).update(postal_code=postal)
    customer.refresh_from_db()
    return customer
