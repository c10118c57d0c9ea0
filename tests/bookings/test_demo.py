"""`make run` opens on a calendar that is not empty: seed_demo gives each demo shop capacity and a week
of bookings (with their seats), and sends nothing."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking, SlotClaim, WorkType
from crm.models import Membership, Tenant
from reminders.models import Reminder, RuleKind

pytestmark = pytest.mark.django_db


def test_seed_demo_gives_the_shop_capacity_and_bookings(settings):
    call_command("seed_demo", tenant="demo-bookings", customers=40, years=1, no_refresh=True, verbosity=0)
    tenant = Tenant.objects.get(slug="demo-bookings")
    assert WorkType.objects.for_tenant(tenant).count() == 5
    bookings = Booking.objects.for_tenant(tenant)
    assert bookings.count() >= 10
    assert SlotClaim.objects.for_tenant(tenant).filter(booking__in=bookings).exists()
    assert (
        not Reminder.objects.for_tenant(tenant)
        .filter(rule__kind__in=[RuleKind.BOOKING_CONFIRMATION, RuleKind.BOOKING_REMINDER])
        .exists()
    )
    owner = Membership.objects.for_tenant(tenant).filter(role="owner").select_related("user").first().user
    client = Client()
    client.force_login(owner)
    first = bookings.order_by("starts_at").first()
    page = client.get(
        reverse("bookings:calendar")
        + f"?date={timezone.localtime(first.starts_at).date().isoformat()}&view=week"
    )
    assert page.status_code == 200 and f"#booking-{first.pk}" in page.content.decode()
