from datetime import date

import pytest
from django.utils import timezone, translation

from reminders.services import reminder_defaults_create
from tests.channels.conftest import fake_line, fake_sms, follower, line_shop  # noqa: F401 (fixtures)
from tests.factories import CustomerFactory

ON = date(2026, 6, 1)  # the planner's "today" in these tests


@pytest.fixture
def on():
    return ON


@pytest.fixture
def rules(tenant):
    """The default rules of `tenant`, by kind."""
    return {r.kind: r for r in reminder_defaults_create(tenant=tenant)}


@pytest.fixture
def opted_in():
    """Make an opted-in customer of a tenant (can receive reminder e-mails)."""

    def make(tenant, **fields):
        return CustomerFactory(
            tenant=tenant, consent="opted_in", consent_at=timezone.now(), consent_source="shop form", **fields
        )

    return make


@pytest.fixture(autouse=True)
def _english_messages():
    """Assertions on messages read the English msgids; the dashboard default is Japanese."""
    with translation.override("en"):
        yield
