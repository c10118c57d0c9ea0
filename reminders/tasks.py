"""Celery tasks: thin wrappers taking ids and calling the planner, dispatcher, sweeper or sender.

Names match CELERY_BEAT_SCHEDULE in crm/settings.py. All run with acks_late (settings), so a task
whose worker dies is delivered again; the guarded state moves make a second delivery harmless.
"""

from __future__ import annotations

from celery import shared_task

from reminders import dispatch, planner, sending


def enqueue_sends(rows: list[tuple[int, int]]) -> None:
    for tenant_id, reminder_id in rows:
        send_reminder.delay(tenant_id, reminder_id)


@shared_task(name="reminders.tasks.plan_all_reminders")
def plan_all_reminders(tenant_id: int | None = None) -> dict[str, int]:
    return planner.plan_reminders(tenant_id=tenant_id)


@shared_task(name="reminders.tasks.dispatch_due_reminders")
def dispatch_due_reminders() -> int:
    total = 0
    while True:
        queued, claimed = dispatch.reminders_claim_due(enqueue=enqueue_sends)
        total += len(queued)
        if claimed < dispatch.DISPATCH_BATCH_SIZE:
            return total


@shared_task(name="reminders.tasks.sweep_stuck_reminders")
def sweep_stuck_reminders() -> int:
    return len(dispatch.reminders_sweep_stuck(enqueue=enqueue_sends))


@shared_task(name="reminders.tasks.send_reminder", bind=True, acks_late=True, max_retries=None)
def send_reminder(self, tenant_id: int, reminder_id: int) -> str:
    try:
        return sending.reminder_send(tenant_id=tenant_id, reminder_id=reminder_id)
    except sending.RetryableSendError as exc:
        raise self.retry(countdown=exc.countdown, exc=exc) from exc
