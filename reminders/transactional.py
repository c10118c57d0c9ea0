"""Messages about a customer's own booking (confirmation, the day before) and the reminders a booking
makes unnecessary. The bookings app (a layer above) calls these inside its booking transaction.

Booking messages are Reminder rows of the shop's two booking rules, so they get the outbox's
guarantees (claimed with SKIP LOCKED, sent once, retried, swept, Message-ID) and its editable
sandboxed templates. They are transactional, not advertising: no marketing opt-in is needed, only an
address (reminders.models.TRANSACTIONAL_KINDS). The confirmation is queued at once and its send task
enqueued after commit, ignoring the shop's send window (a customer who books at 22:00 expects the
confirmation now, not tomorrow at 9:00); the day-before message is planned `pending` for the day
before and waits for the send window like any reminder.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from channels.models import MessageChannel
from crm.models import Tenant
from customers.models import Customer, Vehicle
from reminders.models import Language, Reminder, ReminderRule, ReminderStatus, RuleKind
from reminders.services import CANCELLABLE, reminder_rule_create, reminder_template_create
from reminders.tasks import enqueue_sends
from reminders.templating import BOOKING_CONTEXT_FIELDS

BOOKED = "booked"  # the reason of a reminder skipped because its occasion is booked
STEP = 1  # booking rules have one step; the row is unique per (rule, customer, vehicle, date)

_FOOT_JA = "\n\nご不明な点は {{ shop_name }}（{{ shop_phone }}）までお問い合わせください。"
_FOOT_EN = "\n\nAny questions? Call {{ shop_name }} on {{ shop_phone }}."
BOOKING_TEMPLATES = {
    RuleKind.BOOKING_CONFIRMATION: (
        (
            "ご予約を承りました（{{ booking_date }} {{ booking_time }}）",
            "{{ customer_name }}\n\n{{ shop_name }}へのご予約ありがとうございます。"
            "以下の内容で承りました。\n\n作業：{{ booking_work }}\n"
            "日時：{{ booking_date }} {{ booking_time }}\n"
            "お車：{{ vehicle }}（{{ plate_number }}）\n\n"
            "ご予約の確認・変更・キャンセルはこちらから：\n{{ booking_manage_url }}" + _FOOT_JA,
        ),
        (
            "Your booking: {{ booking_date }} {{ booking_time }}",
            "Dear {{ customer_name }},\n\nThank you for booking with {{ shop_name }}.\n\n"
            "Work: {{ booking_work }}\nWhen: {{ booking_date }} {{ booking_time }}\n"
            "Vehicle: {{ vehicle }} ({{ plate_number }})\n\n"
            "See, change or cancel your booking here:\n{{ booking_manage_url }}" + _FOOT_EN,
        ),
    ),
    RuleKind.BOOKING_REMINDER: (
        (
            "明日のご予約のご案内（{{ booking_time }}）",
            "{{ customer_name }}\n\n明日 {{ booking_date }} {{ booking_time }} に"
            "{{ booking_work }}のご予約をいただいております。お気をつけてお越しください。\n\n"
            "ご都合が悪くなった場合はこちらから変更・キャンセルできます：\n{{ booking_manage_url }}"
            + _FOOT_JA,
        ),
        (
            "See you tomorrow at {{ booking_time }}",
            "Dear {{ customer_name }},\n\nA reminder of your booking tomorrow, {{ booking_date }} at "
            "{{ booking_time }}: {{ booking_work }}.\n\n"
            "Change or cancel it here:\n{{ booking_manage_url }}" + _FOOT_EN,
        ),
    ),
}
BOOKING_RULE_NAMES = {
    RuleKind.BOOKING_CONFIRMATION: "ご予約確認メール",
    RuleKind.BOOKING_REMINDER: "ご予約前日のご案内",
}


def _shop_today(tenant: Tenant) -> date:
    return timezone.now().astimezone(ZoneInfo(tenant.time_zone or "Asia/Tokyo")).date()


@transaction.atomic
def booking_rules_ensure(*, tenant: Tenant) -> dict[str, ReminderRule]:
    """The shop's two booking rules with Japanese and English templates, created when missing.

    Created on first use rather than with the tenant, so shops that never take bookings online keep
    the rule list they know; the templates are then edited like any other.
    """
    rules = {
        r.kind: r
        for r in ReminderRule.objects.for_tenant(tenant)
        .filter(kind__in=BOOKING_RULE_NAMES)
        .select_related("template")
        .order_by("pk")
    }
    for kind, name in BOOKING_RULE_NAMES.items():
        if kind in rules:
            continue
        (ja_subject, ja_body), (en_subject, en_body) = BOOKING_TEMPLATES[kind]
        ja = reminder_template_create(
            tenant=tenant, name=name, language=Language.JA, subject=ja_subject, body=ja_body
        )
        reminder_template_create(
            tenant=tenant, name=name, language=Language.EN, subject=en_subject, body=en_body
        )
        rules[kind] = reminder_rule_create(tenant=tenant, name=name, kind=kind, template=ja, offsets=[0])
    return rules


@transaction.atomic
def transactional_message_queue(
    *,
    tenant: Tenant,
    kind: str,
    customer: Customer,
    vehicle: Vehicle | None,
    occasion_date: date,
    context: dict[str, Any],
    due_date: date | None = None,
    send_now: bool = False,
) -> Reminder | None:
    """Plan (or, with `send_now`, queue and enqueue after commit) one booking message.

    The outbox row is unique per (rule, customer, vehicle, date): a second booking message for the
    same day (a move within the day, a rebooking after a cancel) reuses the row with the new content
    and sends again; its earlier send stays recorded as an Interaction. A row being sent right now is
    left alone. Returns None when the shop switched the rule off.
    """
    rule = booking_rules_ensure(tenant=tenant)[kind]
    if not rule.is_active:
        return None
    now = timezone.now()
    values = {
        "status": ReminderStatus.QUEUED if send_now else ReminderStatus.PENDING,
        # Queued at once, past the dispatcher's channel choice: booking messages go by e-mail for now.
        "channel": MessageChannel.EMAIL if send_now else "",
        "due_date": due_date or _shop_today(tenant),
        "context": {k: str(v) for k, v in context.items() if k in BOOKING_CONTEXT_FIELDS},
        "reason": "",
        "attempts": 0,
        "queued_at": now if send_now else None,
        "sending_started_at": None,
        "sent_at": None,
        "call_task": None,
    }
    row = (
        Reminder.objects.for_tenant(tenant)
        .select_for_update()
        .filter(rule=rule, step=STEP, customer=customer, vehicle=vehicle, occasion_date=occasion_date)
        .first()
    )
    if row is None:
        row = Reminder(
            tenant=tenant,
            rule=rule,
            step=STEP,
            customer=customer,
            vehicle=vehicle,
            occasion_date=occasion_date,
        )
    elif row.status == ReminderStatus.SENDING:
        return row
    for field, value in values.items():
        setattr(row, field, value)
    row.save()
    if send_now:
        pair = [(tenant.pk, row.pk)]
        transaction.on_commit(lambda: enqueue_sends(pair))
    return row


@transaction.atomic
def transactional_messages_drop(
    *, tenant: Tenant, customer: Customer, vehicle: Vehicle | None, occasion_date: date, reason: str
) -> int:
    """Booking messages of that day not sent yet become `skipped` (the booking moved or was cancelled)."""
    return (
        Reminder.objects.for_tenant(tenant)
        .filter(
            rule__kind__in=BOOKING_RULE_NAMES,
            customer=customer,
            vehicle=vehicle,
            occasion_date=occasion_date,
            status__in=CANCELLABLE,
        )
        .update(status=ReminderStatus.SKIPPED, reason=reason, updated_at=timezone.now())
    )


@transaction.atomic
def reminders_skip_for_booking(
    *,
    tenant: Tenant,
    customer: Customer,
    vehicle: Vehicle | None,
    kinds: list[str],
    rule: ReminderRule | None = None,
    occasion_date: date | None = None,
) -> int:
    """A booked customer gets no further reminder for the same occasion: their planned or queued
    reminders of these kinds (for this vehicle), and the remaining steps of `rule` for
    `occasion_date` (the reminder whose link was used), are skipped with the reason "booked".

    The sender claims only `queued` rows and the dispatcher only `pending` ones, so a skipped row is
    never sent; the send-time relevance check needs no booking rule of its own.
    """
    active = Reminder.objects.for_tenant(tenant).filter(customer=customer, status__in=CANCELLABLE)
    moved = 0
    now = timezone.now()
    if kinds:
        by_kind = active.filter(rule__kind__in=kinds)
        if vehicle is not None:
            by_kind = by_kind.filter(vehicle=vehicle)
        moved += by_kind.update(status=ReminderStatus.SKIPPED, reason=BOOKED, updated_at=now)
    if rule is not None and occasion_date is not None:
        moved += active.filter(rule=rule, occasion_date=occasion_date).update(
            status=ReminderStatus.SKIPPED, reason=BOOKED, updated_at=now
        )
    return moved


@transaction.atomic
def reminders_unskip_after_cancelled_booking(
    *, tenant: Tenant, customer: Customer, vehicle: Vehicle | None, kinds: list[str]
) -> int:
    """The booking was cancelled: reminders skipped as "booked" that are still ahead go back to
    `pending`, so the customer hears from the shop again about the occasion."""
    rows = Reminder.objects.for_tenant(tenant).filter(
        customer=customer,
        status=ReminderStatus.SKIPPED,
        reason=BOOKED,
        rule__kind__in=kinds,
        due_date__gte=_shop_today(tenant),
    )
    if vehicle is not None:
        rows = rows.filter(vehicle=vehicle)
    return rows.update(status=ReminderStatus.PENDING, reason="", updated_at=timezone.now())
