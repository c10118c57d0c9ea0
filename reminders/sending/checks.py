"""The send-time checks: consent and opt-out, relevance (a 車検 recorded since, a second purchase),
and the address, re-read from the database for the whole batch just before it is sent."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Count

from customers.models import Purchase, ServiceKind, ServiceRecord
from reminders.dispatch import reminders_to_call_tasks
from reminders.models import Reminder, ReminderStatus, ReminderStep, RuleKind
from reminders.planner import SHAKEN_DONE_WINDOW_DAYS
from reminders.sending.states import BatchResult, move_many, tenant_tx


def reasons_not_relevant(tenant_id: int, reminders: list[Reminder]) -> dict[int, str]:
    """Why planned reminders no longer apply (a 車検 was recorded, a second purchase…), by reminder id.

    Set-based: at most three queries for a whole batch, whatever its size.
    """
    reasons: dict[int, str] = {}
    inspections = [r for r in reminders if r.rule.kind == RuleKind.INSPECTION and r.vehicle_id]
    if inspections:
        offsets = dict(
            ((rule_id, step), offset)
            for rule_id, step, offset in ReminderStep.objects.for_tenant(tenant_id)
            .filter(rule_id__in={r.rule_id for r in inspections})
            .values_list("rule_id", "step", "offset_days")
        )
        after_expiry = [r for r in inspections if offsets.get((r.rule_id, r.step), 0) > 0]
        if after_expiry:
            shaken: dict[int, list] = defaultdict(list)
            for vehicle_id, day in (
                ServiceRecord.objects.for_tenant(tenant_id)
                .filter(vehicle_id__in={r.vehicle_id for r in after_expiry}, kind=ServiceKind.SHAKEN)
                .values_list("vehicle_id", "date")
            ):
                shaken[vehicle_id].append(day)
            for r in after_expiry:
                since = r.occasion_date - timedelta(days=SHAKEN_DONE_WINDOW_DAYS)
                if any(day >= since for day in shaken[r.vehicle_id]):
                    reasons[r.pk] = "車検 already recorded"
    nurture = [r for r in reminders if r.rule.kind == RuleKind.NURTURE]
    if nurture:
        bought_again = set(
            Purchase.objects.for_tenant(tenant_id)
            .filter(customer_id__in={r.customer_id for r in nurture}, is_refund=False)
            .values("customer_id")
            .annotate(n=Count("id"))
            .filter(n__gt=1)
            .values_list("customer_id", flat=True)
        )
        for r in nurture:
            if r.customer_id in bought_again:
                reasons[r.pk] = "customer bought again: nurture stopped"
    return reasons


def reminder_still_relevant(reminder: Reminder) -> str | None:
    """Why one planned reminder no longer applies, else None."""
    return reasons_not_relevant(reminder.tenant_id, [reminder]).get(reminder.pk)


def send_time_checks(
    tenant_id: int, reminders: list[Reminder], not_relevant: dict[int, str], result: BatchResult
) -> list[Reminder]:
    """Consent, relevance and address checks at send time; returns the reminders that may be e-mailed."""
    no_consent = [r for r in reminders if not r.customer.can_receive_marketing_email]
    if no_consent:
        with tenant_tx(tenant_id):
            reminders_to_call_tasks(tenant_id, no_consent, expected=ReminderStatus.SENDING)
        result.statuses.update(dict.fromkeys((r.pk for r in no_consent), ReminderStatus.CALL_TASK))
    rest = [r for r in reminders if r.customer.can_receive_marketing_email]
    skipped: dict[str, list[int]] = defaultdict(list)
    invalid = []
    to_send = []
    for r in rest:
        if r.pk in not_relevant:
            skipped[not_relevant[r.pk]].append(r.pk)
            continue
        try:
            validate_email(r.customer.email)  # rows can arrive by import; never trust the address
        except ValidationError:
            invalid.append(r.pk)
            continue
        to_send.append(r)
    if skipped or invalid:
        with tenant_tx(tenant_id):
            for reason, pks in skipped.items():
                move_many(
                    tenant_id,
                    pks,
                    expected=ReminderStatus.SENDING,
                    status=ReminderStatus.SKIPPED,
                    reason=reason,
                )
                result.statuses.update(dict.fromkeys(pks, ReminderStatus.SKIPPED))
            move_many(
                tenant_id,
                invalid,
                expected=ReminderStatus.SENDING,
                status=ReminderStatus.FAILED,
                reason="invalid e-mail address",
            )
            result.statuses.update(dict.fromkeys(invalid, ReminderStatus.FAILED))
    return to_send
