"""Write use-cases of print batches: build, print, post (reminders become sent), cancel.

Never twice: a reminder is a card of at most one live batch (partial unique constraint, and the build
locks its rows with SKIP LOCKED, so two builds at once take disjoint rows); posting is a guarded move
of the batch (`WHERE status IN (draft, printed)`), so a second click or a concurrent request posts
nothing; its reminders move with a guarded `queued → sent`. Never lost: a reminder leaves `queued` only
as sent (posted), skipped (no longer relevant, refused, erased) or failed (template error); an
unprintable address is listed in the batch and the reminder stays queued for the next one.
"""

from __future__ import annotations

import zoneinfo
from datetime import date

from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from channels.models import MessageChannel
from crm.common.errors import ApplicationError
from crm.models import Tenant, User
from crm.tenancy.rls import tenant_context
from interactions.models import Channel, Direction, Interaction, InteractionSource, Topic
from reminders.models import (
    PrintBatch,
    PrintBatchItem,
    PrintBatchStatus,
    Reminder,
    ReminderStatus,
)
from reminders.postcards import cards
from reminders.postcards.render import AddressTooLong, MessageTooLong
from reminders.sending.checks import reasons_not_relevant
from reminders.sending.message import templates_by_language
from reminders.sending.states import TOPIC_BY_KIND
from reminders.templating import TemplateRejected

OPEN_STATUSES = (PrintBatchStatus.DRAFT, PrintBatchStatus.PRINTED)


class PrintBatchNotOpen(ApplicationError):
    """The batch was posted or cancelled already."""


def local_today(tenant: Tenant) -> date:
    return timezone.localdate(timezone=zoneinfo.ZoneInfo(tenant.time_zone))


def postcard_candidates(*, tenant: Tenant | int, due_until: date):
    """Queued postcard reminders due up to `due_until` that are not a card of a live batch."""
    live_card = PrintBatchItem.objects.for_tenant(tenant).filter(
        reminder=OuterRef("pk"), problem="", released=False
    )
    return (
        Reminder.objects.for_tenant(tenant)
        .filter(status=ReminderStatus.QUEUED, channel=MessageChannel.POSTCARD, due_date__lte=due_until)
        .filter(~Exists(live_card))
    )


def _skip(tenant: Tenant, pks: list[int], reason: str, status: str = ReminderStatus.SKIPPED) -> None:
    if pks:
        Reminder.objects.for_tenant(tenant).filter(pk__in=pks, status=ReminderStatus.QUEUED).update(
            status=status, reason=reason[:300], updated_at=timezone.now()
        )


@transaction.atomic
def print_batch_create(
    *, tenant: Tenant, created_by: User | None = None, due_until: date | None = None
) -> PrintBatch | None:
    """Build a batch of the queued postcard reminders due up to `due_until` (default: the shop's today).

    Set-based: one locking read of the candidates (with customer, vehicle, rule and template), one
    relevance check, one refusal check, one template read, then bulk moves and one bulk insert. Cards
    are sorted by 〒 (what a post office wants for bulk mail). Returns None when there is nothing.
    """
    due_until = due_until or local_today(tenant)
    reminders = list(
        postcard_candidates(tenant=tenant, due_until=due_until)
        .select_related("tenant", "customer", "customer__assigned_staff", "vehicle", "rule__template")
        .select_for_update(skip_locked=True, of=("self",))
        .order_by("customer__postal_code", "customer_id", "due_date", "id")
    )
    if not reminders:
        return None
    not_relevant = reasons_not_relevant(tenant.pk, reminders)
    refused = cards.refused_customer_ids(tenant, {r.customer_id for r in reminders})
    for reason in set(not_relevant.values()):
        _skip(tenant, [pk for pk, why in not_relevant.items() if why == reason], reason)
    _skip(
        tenant,
        [r.pk for r in reminders if r.customer_id in refused and r.pk not in not_relevant],
        cards.REFUSED,
    )
    rest = [r for r in reminders if r.pk not in not_relevant and r.customer_id not in refused]
    templates = templates_by_language(tenant.pk, rest)
    sender = cards.shop_sender(tenant)
    printable: list[Reminder] = []
    problems: list[tuple[Reminder, str]] = []
    failed: dict[str, list[int]] = {}
    for reminder in rest:
        problem = cards.address_problem(reminder.customer)
        if problem:
            problems.append((reminder, problem))
            continue
        try:
            cards.postcard_for(reminder, templates, sender)
        except TemplateRejected as exc:
            failed.setdefault(f"template error: {exc}", []).append(reminder.pk)
            continue
        except MessageTooLong:
            problems.append((reminder, cards.MESSAGE_TOO_LONG))
            continue
        except AddressTooLong:
            problems.append((reminder, cards.ADDRESS_TOO_LONG))
            continue
        printable.append(reminder)
    for reason, pks in failed.items():
        _skip(tenant, pks, reason, status=ReminderStatus.FAILED)
    if not printable and not problems:
        return None
    batch = PrintBatch(
        tenant=tenant,
        due_until=due_until,
        created_by=created_by,
        card_count=len(printable),
        problem_count=len(problems),
    )
    batch.full_clean()
    batch.save()
    rows = [(r, "") for r in printable] + problems
    PrintBatchItem.objects.bulk_create(
        PrintBatchItem(tenant=tenant, batch=batch, reminder=r, position=i, problem=problem)
        for i, (r, problem) in enumerate(rows, start=1)
    )
    return batch


@transaction.atomic
def print_batch_mark_printed(*, tenant: Tenant, batch: PrintBatch) -> None:
    """Count a print (download) of the cards; the first one moves draft → printed."""
    now = timezone.now()
    PrintBatch.objects.for_tenant(tenant).filter(pk=batch.pk, status=PrintBatchStatus.DRAFT).update(
        status=PrintBatchStatus.PRINTED, printed_at=now
    )
    PrintBatch.objects.for_tenant(tenant).filter(pk=batch.pk).update(
        print_count=F("print_count") + 1, printed_at=Coalesce("printed_at", now)
    )


@transaction.atomic
def print_batch_mark_posted(*, tenant: Tenant, batch: PrintBatch, by: User | None = None) -> int:
    """The cards went into the post: the batch's queued card reminders become sent (channel postcard),
    each with an Interaction (letter, source reminder) on the customer's timeline. Returns how many.

    Exactly once: the guarded move of the batch row locks it, so a second click or a concurrent
    request waits, sees `posted`, and moves nothing. Card reminders that left `queued` since the batch
    was built (cancelled, customer erased) are not counted.
    """
    now = timezone.now()
    moved = (
        PrintBatch.objects.for_tenant(tenant)
        .filter(pk=batch.pk, status__in=OPEN_STATUSES)
        .update(status=PrintBatchStatus.POSTED, posted_at=now, posted_by=by)
    )
    if not moved:
        raise PrintBatchNotOpen(_("This batch was already posted or cancelled."))
    card_ids = PrintBatchItem.objects.for_tenant(tenant).filter(batch=batch, problem="", released=False)
    rows = list(
        Reminder.objects.for_tenant(tenant)
        .filter(pk__in=card_ids.values("reminder_id"), status=ReminderStatus.QUEUED)
        .select_for_update(of=("self",))
        .values_list("pk", "customer_id", "rule__kind", "rule__name")
    )
    pks = [pk for pk, *_rest in rows]
    Reminder.objects.for_tenant(tenant).filter(pk__in=pks, status=ReminderStatus.QUEUED).update(
        status=ReminderStatus.SENT,
        channel=MessageChannel.POSTCARD,
        sent_at=now,
        reason="",
        updated_at=now,
    )
    Interaction.objects.bulk_create(
        Interaction(
            tenant=tenant,
            customer_id=customer_id,
            channel=Channel.LETTER,
            direction=Direction.OUTBOUND,
            source=InteractionSource.REMINDER,
            topic=TOPIC_BY_KIND.get(kind, Topic.OTHER),
            summary=f"はがき / Postcard: {rule_name}"[:200],
            occurred_at=now,
        )
        for _pk, customer_id, kind, rule_name in rows
    )
    PrintBatch.objects.for_tenant(tenant).filter(pk=batch.pk).update(posted_count=len(pks))
    return len(pks)


@transaction.atomic
def print_batch_cancel(*, tenant: Tenant, batch: PrintBatch) -> None:
    """Cancel an open batch: its reminders stay queued and go into the next batch."""
    moved = (
        PrintBatch.objects.for_tenant(tenant)
        .filter(pk=batch.pk, status__in=OPEN_STATUSES)
        .update(status=PrintBatchStatus.CANCELLED)
    )
    if not moved:
        raise PrintBatchNotOpen(_("This batch was already posted or cancelled."))
    PrintBatchItem.objects.for_tenant(tenant).filter(batch=batch).update(released=True)


def print_batches_build_all(*, due_until: date | None = None) -> dict[str, int]:
    """The monthly job: one batch per shop with postcards to print, each inside its tenant's context."""
    built = {}
    for tenant in Tenant.objects.order_by("pk"):
        with tenant_context(tenant.pk):
            batch = print_batch_create(tenant=tenant, due_until=due_until)
        if batch is not None:
            built[tenant.slug] = batch.card_count
    return built
