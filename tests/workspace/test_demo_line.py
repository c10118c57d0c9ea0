"""seed_demo gives a demo shop LINE followers, preferences and a few waiting messages; reseeding
makes the same rows again and duplicates nothing."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.core.management import call_command

from channels.line_models import LineInboundMessage
from channels.line_selectors import unanswered_line_messages, unlinked_line_messages
from channels.models import ChannelSettings, CustomerChannelPreference, LineContact, LineWebhookEvent
from channels.selectors import channels_for_customers
from crm.models import Tenant

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 23)


def _seed(**extra) -> str:
    out = io.StringIO()
    call_command(
        "seed_demo",
        tenant="demo-dealer",
        customers=120,
        seed=7,
        today=TODAY,
        no_refresh=True,
        stdout=out,
        **extra,
    )
    return out.getvalue()


def _line_state(tenant) -> dict:
    contacts = LineContact.objects.for_tenant(tenant)
    return {
        "following": contacts.filter(customer__isnull=False, following=True).count(),
        "blocked": contacts.filter(customer__isnull=False, following=False).count(),
        "unlinked": contacts.filter(customer__isnull=True).count(),
        "line_only": CustomerChannelPreference.objects.for_tenant(tenant)
        .filter(channel_order="line")
        .count(),
        "email_first": CustomerChannelPreference.objects.for_tenant(tenant)
        .filter(channel_order="email,line")
        .count(),
        "messages": LineInboundMessage.objects.for_tenant(tenant).count(),
        "unanswered_on_today": unanswered_line_messages(tenant=tenant).count(),
        "waiting_for_a_link": unlinked_line_messages(tenant=tenant).count(),
        "webhook_events": LineWebhookEvent.objects.for_tenant(tenant).count(),
    }


# Seed 7, 120 customers: 38 of them followed the shop (34 still follow, 4 blocked it since); the
# shares are random draws, so these two are the recorded outcome of this seed, the rest are constants.
EXPECTED = {
    "following": 34,
    "blocked": 4,
    "unlinked": 2,
    "line_only": 6,
    "email_first": 3,
    "messages": 7,
    "unanswered_on_today": 5,
    "waiting_for_a_link": 2,
    "webhook_events": 7,
}


def test_seed_demo_creates_line_followers_preferences_and_messages():
    output = _seed()

    tenant = Tenant.objects.get(slug="demo-dealer")
    assert _line_state(tenant) == EXPECTED
    assert (
        "demo-dealer: line_followers 34, line_blocked 4, line_unlinked 2, line_preferences 9, line_messages 7"
        in output
    )
    settings_row = ChannelSettings.objects.for_tenant(tenant).get()
    assert settings_row.order == ["line", "email", "sms"]  # the default order, LINE first
    assert settings_row.line_basic_id.startswith("@") and settings_row.line_channel_id == "2000000000"
    assert not settings_row.line_configured  # no secrets: the demo's LINE backend is the outbox
    # A follower can receive LINE; one who asked for LINE only has nothing else; a blocked one has no LINE.
    line_only = CustomerChannelPreference.objects.for_tenant(tenant).filter(channel_order="line").first()
    blocked = LineContact.objects.for_tenant(tenant).filter(following=False, customer__isnull=False).first()
    receivable = channels_for_customers(
        tenant_id=tenant.pk, customer_ids=[line_only.customer_id, blocked.customer_id]
    )
    assert receivable[line_only.customer_id] == ["line"]
    assert "line" not in receivable[blocked.customer_id]


def test_reseeding_the_shop_makes_the_same_line_rows_and_if_empty_adds_nothing():
    _seed()
    tenant = Tenant.objects.get(slug="demo-dealer")
    first_users = sorted(LineContact.objects.for_tenant(tenant).values_list("line_user_id", flat=True))

    _seed(reset=True)
    _seed(if_empty=True)

    assert _line_state(tenant) == EXPECTED
    assert (
        sorted(LineContact.objects.for_tenant(tenant).values_list("line_user_id", flat=True)) == first_users
    )
    # Every linked contact points at a customer of the new seeding (none left dangling by the reset).
    assert LineContact.objects.for_tenant(tenant).filter(customer__isnull=True).count() == 2
