"""The Monday job, and the weekly list's share of a customer's personal data (APPI)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.utils import timezone

from customers.privacy import customer_export_personal_data
from opportunities import tasks
from opportunities.models import CustomerLeavingRisk, VehicleReplacementScore, WorklistAction, WorklistEntry
from opportunities.privacy import erase
from opportunities.services import worklist_entry_dismiss
from tests.opportunities.scores import leaving, owner_with_car, replacement

pytestmark = pytest.mark.django_db


def test_the_beat_runs_the_list_on_monday_morning_shop_time():
    job = settings.CELERY_BEAT_SCHEDULE["refresh-worklists-weekly"]
    assert job["task"] == "opportunities.tasks.refresh_all_worklists"
    assert (job["schedule"].day_of_week, job["schedule"].hour, job["schedule"].minute) == ({1}, {6}, {30})
    assert settings.CELERY_TIMEZONE == "Asia/Tokyo"


def test_the_tenant_task_builds_that_shops_list_and_is_safe_twice(tenant, other_tenant, staff):
    _c, car = owner_with_car(tenant, staff=staff)
    replacement(car, value=10_000)
    _c, car = owner_with_car(other_tenant)
    replacement(car, value=10_000)

    assert tasks.refresh_tenant_worklist(tenant.pk) == 1
    assert tasks.refresh_tenant_worklist(tenant.pk) == 1
    assert WorklistEntry.objects.for_tenant(tenant).count() == 1
    assert WorklistEntry.objects.for_tenant(other_tenant).count() == 0
    assert tasks.refresh_tenant_worklist(999_999) == 0


def test_the_fan_out_enqueues_one_refresh_per_shop(tenant, other_tenant, monkeypatch):
    sent = []
    monkeypatch.setattr(tasks.refresh_tenant_worklist, "delay", sent.append)
    assert tasks.refresh_all_worklists() == 2
    assert sorted(sent) == sorted([tenant.pk, other_tenant.pk])


def test_disclosure_and_erasure_cover_scores_entries_and_notes(tenant, staff):
    customer, car = owner_with_car(tenant, staff=staff)
    replacement(car, value=50_000, facts={"mileage": 128000})
    leaving(customer, value=10_000)
    tasks.refresh_tenant_worklist(tenant.pk)
    entry = WorklistEntry.objects.for_tenant(tenant).get()
    worklist_entry_dismiss(tenant=tenant, entry=entry, by=staff, reason="other", note="奥様が入院中")

    data = customer_export_personal_data(tenant=tenant, customer=customer)
    assert data["replacement_scores"][0]["facts"] == {"mileage": 128000}
    assert data["weekly_list"][0]["kind"] == "replacement"
    assert data["weekly_list_actions"][0]["note"] == "奥様が入院中"

    counts = erase(tenant=tenant, customer=customer, now=timezone.now())

    assert counts == {"scores_deleted": 2, "worklist_entries_cleared": 1}
    assert not VehicleReplacementScore.objects.for_tenant(tenant).exists()
    assert not CustomerLeavingRisk.objects.for_tenant(tenant).exists()
    assert WorklistEntry.objects.for_tenant(tenant).get().facts == {}
    assert WorklistAction.objects.for_tenant(tenant).get().note == ""
