"""One-click actions from the weekly list: each goes through its app's service, is logged once, and
a refused action changes nothing."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone, translation

from crm.common.errors import ApplicationError
from customers.models import Consent
from interactions.models import CallTask, Deal, DealStage
from opportunities import selectors as worklist_selectors
from opportunities.models import ActionKind, EntryStatus, WorklistAction, WorklistEntry, WorklistSettings
from opportunities.selectors import worklist_hit_rate
from opportunities.services import (
    ActionRefused,
    worklist_entry_call_task,
    worklist_entry_deal,
    worklist_entry_dismiss,
    worklist_entry_message,
)
from opportunities.worklist import shop_today, week_of, worklist_refresh
from reminders.dispatch import reminders_claim_tenant
from reminders.models import Reminder, ReminderStatus, ReminderTemplate, RuleKind
from reminders.personal import CustomerUnreachable
from tests.factories import DealFactory, PurchaseFactory
from tests.opportunities.scores import owner_with_car, replacement

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake_reasons(monkeypatch):
    """Reasons are opportunities.reasons' job (tested there): here only that the entry's reason is used."""
    monkeypatch.setattr(
        worklist_selectors,
        "replacement_reason",
        lambda facts, *, language: f"{language}:{facts['mileage']} km",
    )
    monkeypatch.setattr(worklist_selectors, "leaving_reason", lambda facts, *, language: f"{language}:left")


def _entry(tenant, staff, *, value=114_000, probability=0.38, consent=Consent.OPTED_IN, **fields):
    customer, car = owner_with_car(
        tenant,
        staff=staff,
        consent=consent,
        consent_at=timezone.now() if consent == Consent.OPTED_IN else None,
        **fields,
    )
    replacement(car, value=value, probability=probability, facts={"mileage": 128000})
    worklist_refresh(tenant=tenant)
    return WorklistEntry.objects.for_tenant(tenant).get(customer=customer)


def test_a_call_task_goes_to_the_entrys_staff_due_soon_with_the_reason(tenant, staff, manager, fake_reasons):
    entry = _entry(tenant, staff)

    with translation.override("en"):
        task = worklist_entry_call_task(tenant=tenant, entry=entry, by=manager)

    assert (task.customer_id, task.assigned_to_id, task.reason) == (
        entry.customer_id,
        staff.pk,
        "en:128000 km",
    )
    assert task.due_date == shop_today(tenant) + timedelta(days=2)
    log = WorklistAction.objects.for_tenant(tenant).get()
    assert (log.entry_id, log.action, log.by_id, log.object_id) == (
        entry.pk,
        "call_task",
        manager.pk,
        task.pk,
    )
    entry.refresh_from_db()
    assert entry.status == EntryStatus.ACTED and entry.acted_at is not None


def test_a_deal_is_a_proposal_for_the_customer_and_car_worth_the_margin(tenant, staff):
    entry = _entry(tenant, staff, value=114_000, probability=0.38)

    with translation.override("ja"):
        deal = worklist_entry_deal(tenant=tenant, entry=entry, by=staff)

    assert (deal.customer_id, deal.vehicle_id, deal.stage, deal.owner_id) == (
        entry.customer_id,
        entry.vehicle_id,
        DealStage.PROPOSAL,
        staff.pk,
    )
    assert deal.expected_amount == 300_000  # 114,000 / 0.38
    assert deal.title == "代替のご提案: トヨタ プリウス"
    assert WorklistAction.objects.for_tenant(tenant).get().object_id == deal.pk


def test_the_same_action_twice_is_refused_and_makes_nothing(tenant, staff):
    entry = _entry(tenant, staff)
    worklist_entry_deal(tenant=tenant, entry=entry, by=staff)

    with pytest.raises(ActionRefused):
        worklist_entry_deal(tenant=tenant, entry=entry, by=staff)

    assert Deal.objects.for_tenant(tenant).count() == 1
    assert WorklistAction.objects.for_tenant(tenant).count() == 1


def test_a_message_is_one_pending_personal_reminder_sent_by_the_dispatcher(tenant, staff):
    entry = _entry(tenant, staff)

    reminder = worklist_entry_message(tenant=tenant, entry=entry, by=staff)

    assert reminder.rule.kind == RuleKind.PERSONAL
    assert (reminder.customer_id, reminder.vehicle_id, reminder.status) == (
        entry.customer_id,
        entry.vehicle_id,
        ReminderStatus.PENDING,
    )
    assert (reminder.occasion_date, reminder.due_date) == (entry.week, shop_today(tenant))
    assert reminder.rule.template.name == "担当者からのご案内"
    # The normal dispatch picks the customer's channel (e-mail: they opted in).
    queued, claimed = reminders_claim_tenant(tenant_id=tenant.pk, local_day=shop_today(tenant))
    assert (queued, claimed) == ([(tenant.pk, reminder.pk)], 1)
    reminder.refresh_from_db()
    assert (reminder.status, reminder.channel) == (ReminderStatus.QUEUED, "email")


def test_a_message_uses_the_template_the_shop_chose(tenant, staff):
    chosen = ReminderTemplate.objects.for_tenant(tenant).create(
        tenant=tenant, name="代替のご案内", subject="{{ shop_name }}", body="{{ customer_name }}"
    )
    WorklistSettings.objects.create(tenant=tenant, message_template=chosen)
    entry = _entry(tenant, staff)

    reminder = worklist_entry_message(tenant=tenant, entry=entry, by=staff)

    assert reminder.rule.template_id == chosen.pk


def test_no_message_to_a_customer_without_consent_and_nothing_is_logged(tenant, staff):
    entry = _entry(tenant, staff, consent=Consent.UNKNOWN)  # a postcard address only: not for a one-off

    with pytest.raises(CustomerUnreachable):
        worklist_entry_message(tenant=tenant, entry=entry, by=staff)

    assert Reminder.objects.for_tenant(tenant).count() == 0
    assert WorklistAction.objects.for_tenant(tenant).count() == 0
    entry.refresh_from_db()
    assert entry.status == EntryStatus.OPEN


def test_never_two_messages_to_one_customer_in_a_week(tenant, staff):
    entry = _entry(tenant, staff)
    worklist_entry_message(tenant=tenant, entry=entry, by=staff)
    WorklistAction.objects.for_tenant(tenant).delete()  # even if the log were lost

    with pytest.raises(ApplicationError):
        worklist_entry_message(tenant=tenant, entry=entry, by=staff)

    assert Reminder.objects.for_tenant(tenant).count() == 1


def test_dismiss_needs_a_reason_and_other_needs_words(tenant, staff):
    entry = _entry(tenant, staff)

    with pytest.raises(ApplicationError):
        worklist_entry_dismiss(tenant=tenant, entry=entry, by=staff, reason="")
    with pytest.raises(ApplicationError):
        worklist_entry_dismiss(tenant=tenant, entry=entry, by=staff, reason="other", note="  ")
    assert WorklistAction.objects.for_tenant(tenant).count() == 0

    worklist_entry_dismiss(tenant=tenant, entry=entry, by=staff, reason="other", note=" 家族が反対 ")

    log = WorklistAction.objects.for_tenant(tenant).get()
    assert (log.action, log.dismiss_reason, log.note, log.object_id) == (
        "dismiss",
        "other",
        "家族が反対",
        None,
    )
    entry.refresh_from_db()
    assert entry.status == EntryStatus.DISMISSED and entry.dismissed_at is not None


def test_a_dismissed_entry_takes_no_action_and_stays_off_after_a_refresh(tenant, staff):
    entry = _entry(tenant, staff)
    worklist_entry_dismiss(tenant=tenant, entry=entry, by=staff, reason="just_bought")

    with pytest.raises(ActionRefused):
        worklist_entry_call_task(tenant=tenant, entry=entry, by=staff)
    assert worklist_refresh(tenant=tenant) == 0
    next_week = week_of(shop_today(tenant)) + timedelta(days=7)
    assert worklist_refresh(tenant=tenant, week=next_week) == 0

    assert CallTask.objects.for_tenant(tenant).count() == 0


def test_an_entry_of_another_shop_cannot_be_acted_on(tenant, other_tenant, staff, other_owner):
    entry = _entry(tenant, staff)

    with pytest.raises(ApplicationError):
        worklist_entry_deal(tenant=other_tenant, entry=entry, by=other_owner)

    assert Deal.objects.for_tenant(tenant).count() == 0
    assert Deal.objects.for_tenant(other_tenant).count() == 0


def _acted(tenant, staff, name, *, on: datetime):
    customer, car = owner_with_car(tenant, staff=staff, given_name=name)
    entry = WorklistEntry.objects.for_tenant(tenant).create(
        tenant=tenant,
        week=week_of(on.date()),
        staff=staff,
        rank=1,
        kind="replacement",
        customer=customer,
        vehicle=car,
        probability=0.5,
        status=EntryStatus.ACTED,
        acted_at=on,
        hit_until=date(on.year + (on.month + 6 > 12), (on.month + 5) % 12 + 1, on.day),
    )
    return entry, customer


def test_hit_rate_counts_a_won_deal_or_a_purchase_within_six_months_of_acting(tenant, staff, manager):
    on = datetime(2026, 3, 10, 10, 0, tzinfo=timezone.get_fixed_timezone(540))
    _e, won = _acted(tenant, staff, "won", on=on)
    DealFactory(tenant=tenant, customer=won, stage=DealStage.WON, closed_at=on + timedelta(days=40))
    _e, bought = _acted(tenant, staff, "bought", on=on)
    PurchaseFactory(tenant=tenant, customer=bought, date=date(2026, 9, 10))  # the last day that counts
    _e, late = _acted(tenant, staff, "late", on=on)
    PurchaseFactory(tenant=tenant, customer=late, date=date(2026, 9, 11))
    _e, before = _acted(tenant, staff, "before", on=on)
    PurchaseFactory(tenant=tenant, customer=before, date=date(2026, 3, 1))
    DealFactory(tenant=tenant, customer=before, stage=DealStage.WON, closed_at=on - timedelta(days=1))
    _e, lost = _acted(tenant, staff, "lost", on=on)
    DealFactory(tenant=tenant, customer=lost, stage=DealStage.LOST, lost_reason="price", closed_at=on)
    _e, other = _acted(tenant, manager, "manager's", on=on)
    PurchaseFactory(tenant=tenant, customer=other, date=date(2026, 4, 1))
    dismissed = _entry(tenant, staff, given_name="dismissed")
    worklist_entry_dismiss(tenant=tenant, entry=dismissed, by=staff, reason="not_interested")
    PurchaseFactory(tenant=tenant, customer=dismissed.customer, date=shop_today(tenant))

    assert worklist_hit_rate(tenant=tenant) == {"acted": 6, "hits": 3, "rate": 50.0}
    assert worklist_hit_rate(tenant=tenant, staff=staff) == {"acted": 5, "hits": 2, "rate": 40.0}


def test_hit_rate_of_an_empty_list_is_none(tenant):
    assert worklist_hit_rate(tenant=tenant) == {"acted": 0, "hits": 0, "rate": None}


def test_actions_log_is_recorded_per_kind(tenant, staff):
    entry = _entry(tenant, staff)
    worklist_entry_call_task(tenant=tenant, entry=entry, by=staff)
    worklist_entry_deal(tenant=tenant, entry=entry, by=staff)
    worklist_entry_message(tenant=tenant, entry=entry, by=staff)

    assert list(WorklistAction.objects.for_tenant(tenant).values_list("action", flat=True)) == [
        ActionKind.CALL_TASK,
        ActionKind.DEAL,
        ActionKind.MESSAGE,
    ]
    assert worklist_hit_rate(tenant=tenant) == {"acted": 1, "hits": 0, "rate": 0.0}
