"""Celery tasks: thin wrappers taking ids and calling the planner, dispatcher, sweeper or sender.

Names match CELERY_BEAT_SCHEDULE in crm/settings.py and /work/briefs/reminders-api.md; keep them
stable. All run with acks_late (settings), so a task whose worker dies is delivered again; the
guarded state moves make a second delivery harmless.

The beat jobs work across tenants by looping over tenant ids (the Tenant table is not tenant-owned)
and doing each tenant's set-based work inside `tenant_context` (row-level security).
"""

from __future__ import annotations

import os
from collections import defaultdict
from itertools import islice

from celery import shared_task
from django.conf import settings

from crm.tenancy.rls import tenant_task
from reminders import dispatch, planner, sending
from reminders.campaigns import services as campaign_services
from reminders.postcards import services as postcard_services


def send_batch_size() -> int:
    """Ids per send task: one SMTP connection and one set of send-time queries serve this many messages."""
    return int(getattr(settings, "REMINDER_SEND_BATCH_SIZE", os.environ.get("REMINDER_SEND_BATCH_SIZE", 100)))


# Publishing rides out a short broker outage (a Redis restart) instead of failing the task that
# publishes: a failed publish would leave its rows `queued` without a task until the sweeper's lease.
PUBLISH_RETRY_POLICY = {"max_retries": 30, "interval_start": 1, "interval_step": 1, "interval_max": 5}


def enqueue_sends(rows: list[tuple[int, int]], countdown: int = 0) -> None:
    """Enqueue (tenant id, reminder id) pairs as send tasks of up to `send_batch_size()` ids of one tenant."""
    by_tenant: dict[int, list[int]] = defaultdict(list)
    for tenant_id, reminder_id in rows:
        by_tenant[tenant_id].append(reminder_id)
    size = send_batch_size()
    for tenant_id, ids in by_tenant.items():
        it = iter(ids)
        while batch := list(islice(it, size)):
            send_reminder_batch.apply_async(
                (tenant_id, batch),
                countdown=countdown or None,
                retry=True,
                retry_policy=PUBLISH_RETRY_POLICY,
            )


@shared_task(name="reminders.tasks.plan_all_reminders")
def plan_all_reminders() -> dict[str, int]:
    return planner.plan_reminders()


@shared_task(name="reminders.tasks.plan_tenant_reminders")
@tenant_task
def plan_tenant_reminders(tenant_id: int) -> dict[str, int]:
    return planner.plan_reminders(tenant_id=tenant_id)


@shared_task(name="reminders.tasks.dispatch_due_reminders")
def dispatch_due_reminders() -> int:
    queued, _claimed = dispatch.reminders_dispatch_all(enqueue=enqueue_sends)
    return queued


@shared_task(name="reminders.tasks.sweep_stuck_reminders")
def sweep_stuck_reminders() -> int:
    return len(dispatch.reminders_sweep_stuck(enqueue=enqueue_sends))


# The send tasks do not use @tenant_task on purpose: they commit several times per run ("sending"
# before the SMTP DATA, "sent" right after each message), and one transaction around the whole task
# would turn those commits into savepoints. Each transaction inside sets the tenant itself.
@shared_task(name="reminders.tasks.send_reminder_batch", acks_late=True)
def send_reminder_batch(tenant_id: int, reminder_ids: list[int]) -> dict[str, int]:
    result = sending.reminders_send_batch(tenant_id=tenant_id, reminder_ids=reminder_ids)
    # Only the ids that failed with a connection error or 4xx go round again, after their backoff
    # (capped below the broker's visibility timeout); the row is `queued` again already.
    for countdown, ids in result.retries.items():
        enqueue_sends([(tenant_id, pk) for pk in ids], countdown=countdown)
    return result.counts()


send_reminder_batch.multi_transaction = True  # see above (for the row-level-security task check)


@shared_task(name="reminders.tasks.send_reminder", acks_late=True)
def send_reminder(tenant_id: int, reminder_id: int) -> dict[str, int]:
    """Former one-message task, kept so messages already in a broker are still delivered."""
    return send_reminder_batch(tenant_id, [reminder_id])


send_reminder.multi_transaction = True


@shared_task(name="reminders.tasks.build_print_batches")
def build_print_batches() -> dict[str, int]:
    """Monthly: a print batch of postcards for every shop that has some (beat: 1st of the month)."""
    return postcard_services.print_batches_build_all()


@shared_task(name="reminders.tasks.launch_due_campaigns")
def launch_due_campaigns() -> int:
    """Every few minutes: write the reminders of scheduled campaigns whose time has come (idempotent)."""
    return campaign_services.campaigns_launch_due()
