"""First click on a reminder's signed link: recorded once by the public booking page; bad tokens and
other shops' rows record nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from reminders.links import booking_token
from reminders.models import Reminder
from reminders.services import reminder_mark_clicked
from tests.bookings.helpers import inspection_reminder, reminder_url

pytestmark = pytest.mark.django_db


def test_the_first_click_is_kept_and_later_clicks_change_nothing(tenant):
    reminder = inspection_reminder(tenant)
    assert reminder.clicked_at is None

    assert reminder_mark_clicked(tenant=tenant, reminder_id=reminder.pk) is True
    first = Reminder.objects.for_tenant(tenant).get(pk=reminder.pk).clicked_at
    assert first is not None and abs(timezone.now() - first) < timedelta(seconds=30)

    assert reminder_mark_clicked(tenant=tenant, reminder_id=reminder.pk) is False
    assert Reminder.objects.for_tenant(tenant).get(pk=reminder.pk).clicked_at == first


def test_another_shops_reminder_is_not_marked(tenant, other_tenant):
    foreign = inspection_reminder(other_tenant)
    assert reminder_mark_clicked(tenant=tenant, reminder_id=foreign.pk) is False
    assert Reminder.objects.for_tenant(other_tenant).get(pk=foreign.pk).clicked_at is None


def test_opening_the_booking_page_from_the_link_marks_the_click_once(client, tenant):
    reminder = inspection_reminder(tenant)
    other = inspection_reminder(tenant)

    assert client.get(reminder_url(reminder)).status_code == 200
    first = Reminder.objects.for_tenant(tenant).get(pk=reminder.pk).clicked_at
    assert first is not None
    assert client.get(reminder_url(reminder)).status_code == 200

    assert Reminder.objects.for_tenant(tenant).get(pk=reminder.pk).clicked_at == first
    assert Reminder.objects.for_tenant(tenant).get(pk=other.pk).clicked_at is None


def test_a_token_naming_another_shops_row_marks_nothing(client, tenant, other_tenant):
    foreign = inspection_reminder(other_tenant)
    token = booking_token(tenant_id=tenant.pk, reminder_id=foreign.pk)
    url = reverse("bookings_public:from_reminder", kwargs={"token": token})

    assert client.get(url).status_code == 404
    assert Reminder.objects.for_tenant(other_tenant).get(pk=foreign.pk).clicked_at is None
