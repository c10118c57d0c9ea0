"""The dispatcher and the sweeper: hand due reminders to send tasks, and recover stuck ones.

Both work tenant by tenant, each tenant's rows inside `tenant_context(tenant_id)`: with PostgreSQL
row-level security a query outside a tenant context sees no reminder at all. The Tenant table is not
tenant-owned, so the loop over tenants reads it directly.

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

from channels.models import MessageChannel, parse_channel_order
from channels.selectors import channels_for_customers, choose_channel
from crm.models import Tenant
from crm.tenancy.rls import tenant_context
from customers.models import Consent, Customer
from interactions.models import CallTask
from reminders.models import TRANSACTIONAL_KINDS, Reminder, ReminderRule, ReminderStatus, RuleKind
from reminders.timing import queued_lease_seconds, sending_lease_seconds

# Rows per claim transaction; send tasks then get SEND_BATCH_SIZE ids each (reminders.tasks).
DISPATCH_BATCH_SIZE = 500
NO_CHANNEL = "no channel reaches the customer"

Enqueue = Callable[[list[tuple[int, int]]], None]


def tenants_in_send_window(now: datetime | None = None) -> dict[date, list[int]]:
    """Tenants whose local time is inside their send window, grouped by their local date."""
    now = now or timezone.now()
    groups: dict[date, list[int]] = defaultdict(list)
    # The Tenant table is not tenant-owned: one small row per tenant, read without a tenant context.
    for tenant_id, tz, start, end in Tenant.objects.order_by("id").values_list(
        "id", "time_zone", "send_window_start", "send_window_end"
    ):
        try:
            local = now.astimezone(ZoneInfo(tz))
        except (KeyError, ValueError):
            local = now.astimezone(ZoneInfo("Asia/Tokyo"))
        if start <= local.time().replace(tzinfo=None) < end:
            groups[local.date()].append(tenant_id)
    return groups


def reminders_to_call_tasks(
    tenant_id: int, reminders: Iterable[Reminder], *, expected: str, reasons: dict[int, str] | None = None
) -> int:
    """Turn one tenant's reminders for customers no channel can reach into call tasks for their assigned
    staff. The reason is the e-mail one (no address, opted out, no consent) unless `reasons` names it.

    Runs inside the caller's tenant transaction.
    """
    reminders = list(reminders)
    if not reminders:
        return 0
    rule_names = dict(
        ReminderRule.objects.for_tenant(tenant_id)
        .filter(pk__in={r.rule_id for r in reminders})
        .values_list("id", "name")
    )
    customers = {
        c["id"]: c
        for c in Customer.objects.for_tenant(tenant_id)
        .filter(pk__in={r.customer_id for r in reminders})
        .values("id", "email", "consent", "consent_at", "assigned_staff_id")
    }
    now = timezone.now()
    with transaction.atomic():
        ids = set(
            Reminder.objects.for_tenant(tenant_id)
            .select_for_update()
            .filter(pk__in=[r.pk for r in reminders], status=expected)
            .values_list("id", flat=True)
        )
        rows = [r for r in reminders if r.pk in ids]
        tasks = []
        for r in rows:
            c = customers[r.customer_id]
            why = (reasons or {}).get(r.pk) or (
                "no e-mail address"
                if not c["email"]
                else ("opted out" if c["consent"] == Consent.OPTED_OUT else "no e-mail consent")
            )
            r.reason = why
            tasks.append(
                CallTask(
                    tenant_id=tenant_id,
                    customer_id=r.customer_id,
                    assigned_to_id=c["assigned_staff_id"],
                    due_date=max(r.due_date, timezone.localdate()),
                    reason=f"{rule_names.get(r.rule_id, '')} ({why})"[:200],
                )
            )
        CallTask.objects.bulk_create(tasks)
        for r, task in zip(rows, tasks, strict=True):
            r.call_task_id, r.status, r.updated_at = task.pk, ReminderStatus.CALL_TASK, now
        Reminder.objects.for_tenant(tenant_id).bulk_update(
            rows, ["call_task", "status", "reason", "updated_at"]
        )
    return len(rows)


def reminders_claim_tenant(
    *,
    tenant_id: int,
    local_day: date,
    now: datetime | None = None,
    limit: int = DISPATCH_BATCH_SIZE,
    enqueue: Enqueue | None = None,
) -> tuple[list[tuple[int, int]], int]:
    """Claim up to `limit` of one tenant's reminders due by its local `local_day`, in one transaction.

    Each row goes out on the first channel its customer can receive (channels.selectors, in the
    customer's or the shop's order) that its rule allows; rows nobody can reach become call tasks.
    Returns the (tenant id, reminder id) pairs queued for a send task (e-mail, LINE, SMS; postcards
    are queued for their print batch and not returned) and how many rows were claimed. `enqueue`
    runs after commit.
    """
    now = now or timezone.now()
    with tenant_context(tenant_id):
        claimed = list(
            Reminder.objects.for_tenant(tenant_id)
            .select_for_update(skip_locked=True)
            .filter(status=ReminderStatus.PENDING, due_date__lte=local_day)
            .only("id", "tenant_id", "customer_id", "rule_id", "due_date")
            .order_by("due_date", "id")[:limit]
        )
        if not claimed:
            return [], 0
        receivable = channels_for_customers(
            tenant_id=tenant_id, customer_ids={r.customer_id for r in claimed}
        )
        rule_rows = list(
            ReminderRule.objects.for_tenant(tenant_id)
            .filter(pk__in={r.rule_id for r in claimed})
            .values_list("id", "allowed_channels", "kind")
        )
        transactional = {rule_id for rule_id, _value, kind in rule_rows if kind in TRANSACTIONAL_KINDS}
        with_email = set(
            Customer.objects.for_tenant(tenant_id)
            .filter(pk__in={r.customer_id for r in claimed if r.rule_id in transactional})
            .exclude(email="")
            .values_list("id", flat=True)
        )
        allowed = {rule_id: parse_channel_order(value) or None for rule_id, value, _kind in rule_rows}
        # A campaign goes to many customers at once: one nobody can reach is skipped, not a call task.
        campaign_rules = {rule_id for rule_id, _value, kind in rule_rows if kind == RuleKind.CAMPAIGN}
        by_channel: dict[str, list[int]] = defaultdict(list)
        unreachable = []
        unreachable_campaign = []
        for r in claimed:
            if r.rule_id in transactional:
                # About the customer's own booking, not advertising: no opt-in, an address is enough.
                channel = MessageChannel.EMAIL if r.customer_id in with_email else None
            else:
                channel = choose_channel(receivable[r.customer_id], allowed.get(r.rule_id))
            if channel is None:
                (unreachable_campaign if r.rule_id in campaign_rules else unreachable).append(r)
            else:
                by_channel[channel].append(r.pk)
        for channel, pks in by_channel.items():
            # Postcards wait `queued` for their print batch (reminders print batches mark them sent).
            Reminder.objects.for_tenant(tenant_id).filter(pk__in=pks).update(
                status=ReminderStatus.QUEUED, channel=channel, queued_at=now, updated_at=now
            )
        reminders_to_call_tasks(tenant_id, unreachable, expected=ReminderStatus.PENDING)
        if unreachable_campaign:
            Reminder.objects.for_tenant(tenant_id).filter(
                pk__in=[r.pk for r in unreachable_campaign], status=ReminderStatus.PENDING
            ).update(status=ReminderStatus.SKIPPED, reason=NO_CHANNEL, updated_at=now)
        queued = [
            (tenant_id, pk)
            for channel, pks in by_channel.items()
            if channel != MessageChannel.POSTCARD
            for pk in pks
        ]
        if enqueue is not None and queued:
            transaction.on_commit(lambda: enqueue(queued))
    return queued, len(claimed)


def reminders_claim_due(
    *, now: datetime | None = None, limit: int = DISPATCH_BATCH_SIZE, enqueue: Enqueue | None = None
) -> tuple[list[tuple[int, int]], int]:
    """Claim up to `limit` due reminders of tenants inside their send window (one pass over the tenants).

    Returns the (tenant id, reminder id) pairs queued for sending, and how many rows were claimed.
    """
    now = now or timezone.now()
    queued: list[tuple[int, int]] = []
    claimed = 0
    for local_day, tenant_ids in tenants_in_send_window(now).items():
        for tenant_id in tenant_ids:
            if claimed >= limit:
                return queued, claimed
            q, c = reminders_claim_tenant(
                tenant_id=tenant_id, local_day=local_day, now=now, limit=limit - claimed, enqueue=enqueue
            )
            queued += q
            claimed += c
    return queued, claimed


def reminders_dispatch_all(
    *, now: datetime | None = None, enqueue: Enqueue | None = None, max_rows: int | None = None
) -> tuple[int, int]:
    """Drain every in-window tenant's due reminders, claim after claim. Returns (queued, claimed)."""
    now = now or timezone.now()
    queued_total = claimed_total = 0
    for local_day, tenant_ids in tenants_in_send_window(now).items():
        for tenant_id in tenant_ids:
            while max_rows is None or claimed_total < max_rows:
                limit = (
                    DISPATCH_BATCH_SIZE
                    if max_rows is None
                    else min(DISPATCH_BATCH_SIZE, max_rows - claimed_total)
                )
                queued, claimed = reminders_claim_tenant(
                    tenant_id=tenant_id, local_day=local_day, now=now, limit=limit, enqueue=enqueue
                )
                queued_total += len(queued)
                claimed_total += claimed
                if claimed < limit:
                    break
    return queued_total, claimed_total


def reminders_sweep_tenant(
    *, tenant_id: int, now: datetime | None = None, enqueue: Enqueue | None = None
) -> list[tuple[int, int]]:
    """Requeue one tenant's rows stuck in "sending" past the lease (worker died) and "queued" rows whose
    task was lost."""
    now = now or timezone.now()
    stuck_sending = Q(
        status=ReminderStatus.SENDING, sending_started_at__lt=now - timedelta(seconds=sending_lease_seconds())
    )
    # A queued postcard waits for its print batch (days): never "lost", never given a send task.
    lost_queued = Q(
        status=ReminderStatus.QUEUED, queued_at__lt=now - timedelta(seconds=queued_lease_seconds())
    ) & ~Q(channel=MessageChannel.POSTCARD)
    with tenant_context(tenant_id):
        rows = list(
            Reminder.objects.for_tenant(tenant_id)
            .select_for_update(skip_locked=True)
            .filter(stuck_sending | lost_queued)
            .order_by("id")
            .values_list("tenant_id", "id")[:DISPATCH_BATCH_SIZE]
        )
        if not rows:
            return []
        Reminder.objects.for_tenant(tenant_id).filter(pk__in=[pk for _t, pk in rows]).filter(
            stuck_sending | lost_queued
        ).update(status=ReminderStatus.QUEUED, queued_at=now, updated_at=now, reason="requeued by sweeper")
        if enqueue is not None:
            transaction.on_commit(lambda: enqueue(rows))
    return rows


def reminders_sweep_stuck(
    *, now: datetime | None = None, enqueue: Enqueue | None = None
) -> list[tuple[int, int]]:
    """Run the sweeper over every tenant (each in its own tenant transaction)."""
    now = now or timezone.now()
    swept: list[tuple[int, int]] = []
    for tenant_id in Tenant.objects.order_by("id").values_list("id", flat=True):
        while True:
            rows = reminders_sweep_tenant(tenant_id=tenant_id, now=now, enqueue=enqueue)
            swept += rows
            if len(rows) < DISPATCH_BATCH_SIZE:
                break
    return swept
