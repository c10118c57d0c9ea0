"""The reminder's moves while it is sent: queued → sending → sent / failed (or call_task / skipped).

Each move is a guarded UPDATE (`WHERE status = <expected>`) in a transaction that sets the tenant for
row-level security, so two deliveries of the same task never both move a row. `BatchResult` records
what became of each id of a batch.
"""

from __future__ import annotations

import contextlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from crm.tenancy.rls import TENANT_SETTING, set_db_tenant
from interactions.models import Channel, Direction, Interaction, InteractionSource, Topic
from reminders.models import Reminder, ReminderStatus, RuleKind

TOPIC_BY_KIND = {
    RuleKind.INSPECTION: Topic.INSPECTION,
    RuleKind.CHECK_12M: Topic.INSPECTION,
    RuleKind.CHECK_6M: Topic.INSPECTION,
    RuleKind.FOLLOW_UP_SERVICE: Topic.SERVICE,
    RuleKind.SEASONAL: Topic.SERVICE,
}


@contextlib.contextmanager
def tenant_tx(tenant_id: int):
    """A transaction that sees only this tenant's rows (row-level security); one statement cheaper than
    `tenant_context`, which also restores a previous tenant (there is none at the top of a send task)."""
    with transaction.atomic():
        set_db_tenant(tenant_id)
        yield


def move_many(tenant_id: int, pks: list[int], *, expected: str, **values: Any) -> int:
    """Guarded move: only rows still in `expected` change, so a second delivery of a task is harmless."""
    if not pks:
        return 0
    values.setdefault("updated_at", timezone.now())
    return Reminder.objects.for_tenant(tenant_id).filter(pk__in=pks, status=expected).update(**values)


@contextlib.contextmanager
def relaxed_commits():
    """Skip the WAL flush wait for the batch's commits (PostgreSQL): saves an fsync per state move.

    Only a database crash within a fraction of a second can undo such a commit; the row then goes
    back to "queued"/"sending" and the sweeper resends it: the documented duplicate window (a message
    the server accepted whose "sent" was not durable), never a lost message. Session-level for the
    batch, reset at its end so other tasks on this worker commit normally.
    """
    pg = connection.vendor == "postgresql"
    if pg:
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        if pg:
            # A dead connection is discarded anyway.
            with contextlib.suppress(Exception), connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")


@dataclass
class BatchResult:
    """What happened to each id of a batch, and which ids must be sent again after which countdown."""

    statuses: dict[int, str] = field(default_factory=dict)
    retries: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))

    def counts(self) -> dict[str, int]:
        return dict(Counter(self.statuses.values()))


def hand_back(tenant_id: int, pks: list[int], result: BatchResult) -> None:
    """A slow server or provider: give the rest of a batch back (`queued`, the attempt not counted) before
    the sweeper's lease could requeue rows this task still holds (that would let a second worker send
    them too); they are sent again at once."""
    with tenant_tx(tenant_id):
        move_many(
            tenant_id,
            pks,
            expected=ReminderStatus.SENDING,
            status=ReminderStatus.QUEUED,
            queued_at=timezone.now(),
            attempts=F("attempts") - 1,
        )
    result.retries[0].extend(pks)
    result.statuses.update(dict.fromkeys(pks, "requeued"))


_SENT_SQL = (
    "SELECT set_config(%(setting)s, %(tenant)s, true); "
    "WITH sent AS (UPDATE {reminder} SET status = %(sent)s, sent_at = %(now)s, reason = '', "
    "updated_at = %(now)s WHERE id = %(id)s AND tenant_id = %(tenant_int)s AND status = %(sending)s "
    "RETURNING tenant_id, customer_id) "
    "INSERT INTO {interaction} (tenant_id, customer_id, staff_id, channel, direction, occurred_at, topic, "
    "summary, satisfaction, follow_up_needed, source, created_at, updated_at) "
    "SELECT tenant_id, customer_id, NULL, %(channel)s, %(direction)s, %(now)s, %(topic)s, %(summary)s, NULL, "
    "false, %(source)s, %(now)s, %(now)s FROM sent"
)


def reminder_mark_sent(
    tenant_id: int, reminder: Reminder, *, summary: str, channel: str = Channel.EMAIL
) -> None:
    """sending → sent, and the e-mail on the customer's timeline (an Interaction), committed together.

    On PostgreSQL in autocommit this is ONE round trip: the statements of one simple query run as one
    implicit transaction, so the tenant setting (row-level security), the guarded UPDATE and the
    INSERT commit together. Per message that is three round trips fewer than tenant transaction +
    UPDATE + INSERT + COMMIT, which is most of the database time of a send. The values are built
    from the rows this task just loaded and fixed choices, so `interaction_create`'s per-row
    `full_clean` (two lookups) is not needed here.
    """
    now = timezone.now()
    topic = TOPIC_BY_KIND.get(reminder.rule.kind, Topic.OTHER)
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        sql = _SENT_SQL.format(reminder=Reminder._meta.db_table, interaction=Interaction._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                sql,
                {
                    "setting": TENANT_SETTING,
                    "tenant": str(int(tenant_id)),
                    "tenant_int": tenant_id,
                    "id": reminder.pk,
                    "sent": ReminderStatus.SENT,
                    "sending": ReminderStatus.SENDING,
                    "now": now,
                    "channel": channel,
                    "direction": Direction.OUTBOUND,
                    "topic": topic,
                    "summary": summary,
                    "source": InteractionSource.REMINDER,
                },
            )
        return
    with tenant_tx(tenant_id):
        if move_many(
            tenant_id,
            [reminder.pk],
            expected=ReminderStatus.SENDING,
            status=ReminderStatus.SENT,
            sent_at=now,
            reason="",
            updated_at=now,
        ):
            Interaction.objects.create(
                tenant_id=reminder.tenant_id,
                customer_id=reminder.customer_id,
                channel=channel,
                direction=Direction.OUTBOUND,
                source=InteractionSource.REMINDER,
                topic=topic,
                summary=summary,
                occurred_at=now,
            )
