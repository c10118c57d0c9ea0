"""Two people at once (PostgreSQL, real transactions in two threads): still exactly once."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from crm.tenancy.rls import tenant_context
from interactions.models import Interaction
from reminders.models import PrintBatch, PrintBatchItem, Reminder, ReminderStatus
from reminders.postcards import services
from tests.reminders.postcards.conftest import TODAY, postcard_customer

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _both(work):
    """Run `work(i)` in two threads started together; returns their results (or exceptions)."""
    barrier = threading.Barrier(2)
    results: list = [None, None]

    def run(i):
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # the assertion looks at what each thread got
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_two_concurrent_posts_send_each_card_once(tenant, postcard_reminder):
    for _ in range(20):
        postcard_reminder(postcard_customer(tenant))
    batch = services.print_batch_create(tenant=tenant, due_until=TODAY)

    def post(_i):
        with tenant_context(tenant.pk):
            return services.print_batch_mark_posted(tenant=tenant, batch=batch)

    results = _both(post)

    assert sorted(map(type, results), key=str) == sorted([int, services.PrintBatchNotOpen], key=str)
    assert 20 in results
    assert Reminder.objects.for_tenant(tenant).filter(status=ReminderStatus.SENT).count() == 20
    assert Interaction.objects.for_tenant(tenant).count() == 20


def test_two_concurrent_builds_never_put_a_reminder_in_two_batches(tenant, postcard_reminder):
    reminders = [postcard_reminder(postcard_customer(tenant)) for _ in range(200)]

    def build(_i):
        with tenant_context(tenant.pk):
            batch = services.print_batch_create(tenant=tenant, due_until=TODAY)
            return batch.card_count if batch else 0

    results = _both(build)

    assert all(isinstance(r, int) for r in results), results
    assert sum(results) == 200
    cards = list(PrintBatchItem.objects.for_tenant(tenant).values_list("reminder_id", flat=True))
    assert sorted(cards) == sorted(r.pk for r in reminders)
    assert PrintBatch.objects.for_tenant(tenant).count() == sum(1 for r in results if r)
