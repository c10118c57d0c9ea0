"""The dispatcher and the sweeper: hand due reminders to send tasks, and recover stuck ones.

Claiming uses `SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL, so two dispatchers running at the
same time claim disjoint rows. Send tasks are enqueued with `transaction.on_commit`: a task never
sees a row its dispatcher has not committed yet, and a rolled-back claim enqueues nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from crm.models import Tenant
from customers.models import Consent, Customer
from interactions.models import CallTask
from reminders.models import Reminder, ReminderRule, ReminderStatus
from reminders.sending import queued_lease_seconds, sending_lease_seconds

DISPATCH_BATCH_SIZE = 500

Enqueue = Callable[[list[tuple[int, int]]], None]


def tenants_in_send_window(now: datetime | None = None) -> dict[date, list[int]]:
    """Tenants whose local time is inside their send window, grouped by their local date."""
    now = now or timezone.now()
    groups: dict[date, list[int]] = defaultdict(list)
    # Deliberately across tenants: the dispatcher serves every shop. One small row per tenant.
    for tenant_id, tz, start, end in Tenant.objects.values_list(
        "id", "time_zone", "send_window_start", "send_window_end"
    ):
        try:
            local = now.astimezone(ZoneInfo(tz))
        except (KeyError, ValueError):
            local = now.astimezone(ZoneInfo("Asia/Tokyo"))
        if start <= local.time().replace(tzinfo=None) < end:
            groups[local.date()].append(tenant_id)
    return groups


def reminders_to_call_tasks(reminders: Iterable[Reminder], *, expected: str) -> int:
    """Turn reminders for customers we may not e-mail into call tasks for their assigned staff."""
    reminders = list(reminders)
    if not reminders:
        return 0
    rule_names = dict(
        # Cross-tenant by design: the rows come from one claim that may span tenants.
        ReminderRule.objects.unscoped()
        .filter(pk__in={r.rule_id for r in reminders})
        .values_list("id", "name")
    )
    customers = {
        c["id"]: c
        for c in Customer.objects.unscoped()
        .filter(pk__in={r.customer_id for r in reminders})
        .values("id", "email", "consent", "assigned_staff_id")
    }
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            Reminder.objects.unscoped()
            .select_for_update()
            .filter(pk__in=[r.pk for r in reminders], status=expected)
            .values_list("id", flat=True)
        )
        rows = [r for r in reminders if r.pk in set(ids)]
        tasks = []
        for r in rows:
            c = customers[r.customer_id]
            why = (
                "no e-mail address"
                if not c["email"]
                else ("opted out" if c["consent"] == Consent.OPTED_OUT else "no e-mail consent")
            )
            r.reason = why
            tasks.append(
                CallTask(
                    tenant_id=r.tenant_id,
                    customer_id=r.customer_id,
                    assigned_to_id=c["assigned_staff_id"],
                    due_date=max(r.due_date, timezone.localdate()),
                    reason=f"{rule_names.get(r.rule_id, '')} ({why})"[:200],
                )
            )
        CallTask.objects.bulk_create(tasks)
        for r, task in zip(rows, tasks, strict=True):
            r.call_task_id, r.status, r.updated_at = task.pk, ReminderStatus.CALL_TASK, now
        Reminder.objects.unscoped().bulk_update(rows, ["call_task", "status", "reason", "updated_at"])
    return len(rows)


def _sendable(customer: dict) -> bool:
    return bool(customer["email"]) and customer["consent"] == Consent.OPTED_IN


def reminders_claim_due(
    *, now: datetime | None = None, limit: int = DISPATCH_BATCH_SIZE, enqueue: Enqueue | None = None
) -> tuple[list[tuple[int, int]], int]:
    """Claim due reminders of tenants inside their send window.

    Returns the (tenant id, reminder id) pairs queued for sending, and how many rows were claimed.

    Customers without consent or e-mail get a call task instead. `enqueue` runs after commit.
    """
    now = now or timezone.now()
    groups = tenants_in_send_window(now)
    if not groups:
        return [], 0
    due = Q()
    for local_day, tenant_ids in groups.items():
        due |= Q(tenant_id__in=tenant_ids, due_date__lte=local_day)
    with transaction.atomic():
        # Cross-tenant on purpose: one claim serves every tenant in its window.
        claimed = list(
            Reminder.objects.unscoped()
            .select_for_update(skip_locked=True)
            .filter(due, status=ReminderStatus.PENDING)
            .order_by("due_date", "id")[:limit]
        )
        if not claimed:
            return [], 0
        customers = {
            c["id"]: c
            for c in Customer.objects.unscoped()
            .filter(pk__in={r.customer_id for r in claimed})
            .values("id", "email", "consent")
        }
        to_send = [r for r in claimed if _sendable(customers[r.customer_id])]
        no_mail = [r for r in claimed if not _sendable(customers[r.customer_id])]
        Reminder.objects.unscoped().filter(pk__in=[r.pk for r in to_send]).update(
            status=ReminderStatus.QUEUED, queued_at=now, updated_at=now
        )
        reminders_to_call_tasks(no_mail, expected=ReminderStatus.PENDING)
        queued = [(r.tenant_id, r.pk) for r in to_send]
        if enqueue is not None and queued:
            transaction.on_commit(lambda: enqueue(queued))
    return queued, len(claimed)


def reminders_sweep_stuck(
    *, now: datetime | None = None, enqueue: Enqueue | None = None
) -> list[tuple[int, int]]:
    """Requeue rows stuck in "sending" past the lease (worker died) and "queued" rows whose task was lost."""
    now = now or timezone.now()
    stuck_sending = Q(
        status=ReminderStatus.SENDING, sending_started_at__lt=now - timedelta(seconds=sending_lease_seconds())
    )
    lost_queued = Q(
        status=ReminderStatus.QUEUED, queued_at__lt=now - timedelta(seconds=queued_lease_seconds())
    )
    with transaction.atomic():
        # Cross-tenant on purpose: recovery covers every tenant's rows.
        rows = list(
            Reminder.objects.unscoped()
            .select_for_update(skip_locked=True)
            .filter(stuck_sending | lost_queued)
            .values_list("tenant_id", "id")[:DISPATCH_BATCH_SIZE]
        )
        if not rows:
            return []
        Reminder.objects.unscoped().filter(pk__in=[pk for _t, pk in rows]).filter(
            stuck_sending | lost_queued
        ).update(status=ReminderStatus.QUEUED, queued_at=now, updated_at=now, reason="requeued by sweeper")
        if enqueue is not None:
            transaction.on_commit(lambda: enqueue(rows))
    return rows
