"""Never twice under concurrency (PostgreSQL, real transactions, one connection per thread): two
launches of one campaign at the same moment write each customer once, also when the row lock is
bypassed and only the unique constraint stands between them."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.utils import timezone

from crm.models import Tenant
from crm.tenancy.rls import tenant_context
from customers.models import Customer, CustomerTag, Tag
from reminders.campaigns import services
from reminders.models import Campaign, CampaignStatus, Reminder
from reminders.services import reminder_defaults_create
from tests.factories import TenantFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SEND_AT = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)
CUSTOMERS = 300


def _campaign() -> tuple[Tenant, Campaign]:
    tenant = TenantFactory(slug="race-campaign", name="Race")
    with tenant_context(tenant.pk):
        template = reminder_defaults_create(tenant=tenant)[0].template
        vip = Tag.objects.create(tenant=tenant, name="vip")
        people = Customer.objects.bulk_create(
            Customer(
                tenant=tenant,
                family_name="田中",
                given_name=str(i),
                consent="opted_in",
                consent_at=timezone.now(),
                email=f"c{i}@example.jp",
            )
            for i in range(CUSTOMERS)
        )
        CustomerTag.objects.bulk_create(CustomerTag(tenant=tenant, customer=c, tag=vip) for c in people)
        services.campaign_settings_update(tenant=tenant, approval_threshold=CUSTOMERS)
        campaign = services.campaign_create(
            tenant=tenant,
            name="race",
            audience={"tags": ["vip"]},
            scheduled_for=SEND_AT,
            template=template,
            holdout_percent=10,
        )
        campaign = services.campaign_submit(tenant=tenant, campaign=campaign)
    assert campaign.status == CampaignStatus.SCHEDULED
    return tenant, campaign


def _race(n: int, work) -> list:
    start = threading.Barrier(n)
    results, errors = [], []
    lock = threading.Lock()

    def run():
        try:
            start.wait(timeout=30)
            value = work()
            with lock:
                results.append(value)
        except Exception as exc:  # reported by the assertion below
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    return results


def _rows(tenant, campaign):
    with tenant_context(tenant.pk):
        return list(
            Reminder.objects.for_tenant(tenant)
            .filter(rule_id=campaign.rule_id)
            .values_list("customer_id", flat=True)
        )


def test_two_launches_at_once_write_every_customer_once():
    tenant, campaign = _campaign()

    def launch():
        with tenant_context(tenant.pk):
            return services.campaign_launch(tenant=tenant, campaign=campaign, now=SEND_AT)

    results = _race(2, launch)

    assert sorted(results, key=lambda r: (r is None, r)) == [CUSTOMERS, None]
    rows = _rows(tenant, campaign)
    assert len(rows) == CUSTOMERS and len(set(rows)) == CUSTOMERS
    with tenant_context(tenant.pk):
        assert Campaign.objects.for_tenant(tenant).get(pk=campaign.pk).status == CampaignStatus.LAUNCHED


def test_without_the_row_lock_the_unique_constraint_still_keeps_each_customer_once():
    tenant, campaign = _campaign()
    on = SEND_AT.date()

    def insert():
        with tenant_context(tenant.pk):
            return services._insert_reminders(tenant=tenant, campaign=campaign, on=on, due=on)

    results = _race(4, insert)

    assert sum(results) == CUSTOMERS
    rows = _rows(tenant, campaign)
    assert len(rows) == CUSTOMERS and len(set(rows)) == CUSTOMERS
