"""Reads of print batches. Every read takes the tenant; another shop's batch is a 404."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_noop

from crm.models import Tenant
from reminders.models import PrintBatch, PrintBatchItem, PrintBatchStatus, ReminderStatus
from reminders.postcards import cards
from reminders.postcards.render import AddressTooLong, MessageTooLong, Postcard
from reminders.postcards.services import postcard_candidates
from reminders.sending.message import templates_by_language
from reminders.templating import TemplateRejected

WITHDRAWN = gettext_noop("no longer to be sent")


@dataclass
class BatchDocument:
    """What a print of a batch contains: the cards in order, and the items left out with why."""

    cards: list[Postcard] = field(default_factory=list)
    left_out: list[tuple[PrintBatchItem, str]] = field(default_factory=list)


def print_batch_list(*, tenant: Tenant) -> QuerySet[PrintBatch]:
    return PrintBatch.objects.for_tenant(tenant).select_related("created_by", "posted_by")


def print_batch_get(*, tenant: Tenant, pk: int) -> PrintBatch:
    return get_object_or_404(PrintBatch.objects.for_tenant(tenant), pk=pk)


def print_batch_preview_count(*, tenant: Tenant, due_until: date) -> int:
    """How many reminders a batch built now would take (cards and listed problems, before checks)."""
    return postcard_candidates(tenant=tenant, due_until=due_until).count()


def print_batch_problems(*, tenant: Tenant, batch: PrintBatch) -> QuerySet[PrintBatchItem]:
    """The reminders listed in the batch but not printed (bad address, message too long)."""
    return (
        PrintBatchItem.objects.for_tenant(tenant)
        .filter(batch=batch)
        .exclude(problem="")
        .select_related("reminder__customer", "reminder__rule")
        .order_by("position")
    )


def print_batch_document(*, tenant: Tenant, batch: PrintBatch) -> BatchDocument:
    """The cards of a batch as printed now, in the batch's order (a few queries for the whole batch).

    A reprint has exactly the batch's cards, minus those whose reminder left the batch's state since
    (cancelled, customer erased or refused postcards, address removed): the same items, the same
    order, the same bytes while nothing changed. An open batch prints its `queued` cards; a posted one
    (a copy for the records) the cards it marked sent.
    """
    items = list(
        PrintBatchItem.objects.for_tenant(tenant)
        .filter(batch=batch, problem="", released=False)
        .select_related(
            "reminder__tenant",
            "reminder__customer__assigned_staff",
            "reminder__vehicle",
            "reminder__rule__template",
        )
        .order_by("position")
    )
    expected = ReminderStatus.SENT if batch.status == PrintBatchStatus.POSTED else ReminderStatus.QUEUED
    reminders = [item.reminder for item in items]
    refused = cards.refused_customer_ids(tenant, {r.customer_id for r in reminders})
    templates = templates_by_language(tenant.pk, reminders)
    sender = cards.shop_sender(tenant)
    document = BatchDocument()
    for item in items:
        reminder = item.reminder
        if reminder.status != expected:
            document.left_out.append((item, WITHDRAWN))
            continue
        if expected == ReminderStatus.QUEUED and reminder.customer_id in refused:
            document.left_out.append((item, cards.REFUSED))
            continue
        problem = cards.address_problem(reminder.customer)
        if problem:
            document.left_out.append((item, problem))
            continue
        try:
            document.cards.append(cards.postcard_for(reminder, templates, sender))
        except TemplateRejected:
            document.left_out.append((item, cards.TEMPLATE_ERROR))
        except MessageTooLong:
            document.left_out.append((item, cards.MESSAGE_TOO_LONG))
        except AddressTooLong:
            document.left_out.append((item, cards.ADDRESS_TOO_LONG))
    return document
