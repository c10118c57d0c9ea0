"""Print batches of postcard reminders: built set-based, printed any number of times, posted exactly once."""

from __future__ import annotations

import io
import time
import unicodedata
from datetime import timedelta

import pdfplumber
import pytest
from celery.schedules import crontab
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from channels.models import ChannelConsent, ConsentStatus, MessageChannel
from crm.tenancy.rls import tenant_context
from customers.models import Customer, ServiceKind
from customers.privacy import customer_erase
from interactions.models import Channel, Interaction, InteractionSource
from reminders import tasks
from reminders.models import PrintBatch, PrintBatchItem, PrintBatchStatus, Reminder, ReminderStatus, RuleKind
from reminders.postcards import selectors, services
from reminders.postcards.render import render_postcards
from reminders.services import reminder_cancel, reminder_defaults_create
from tests.factories import ServiceRecordFactory
from tests.reminders.postcards.conftest import TODAY, postcard_customer
from tests.reminders.postcards.test_render import MM, _columns


def _status(tenant):
    return dict(Reminder.objects.for_tenant(tenant).values_list("pk", "status"))


def _build(tenant, **kwargs):
    return services.print_batch_create(tenant=tenant, due_until=TODAY, **kwargs)


def test_a_batch_takes_the_queued_postcard_reminders_due_and_lists_bad_addresses(tenant, postcard_reminder):
    good = [
        postcard_reminder(postcard_customer(tenant, postal=p)) for p in ("900-0015", "060-0042", "150-0001")
    ]
    no_postal = postcard_reminder(postcard_customer(tenant, postal=""))
    bad_postal = postcard_reminder(postcard_customer(tenant, postal="12-3456"))
    no_address = postcard_reminder(postcard_customer(tenant, address=""))
    # Not taken: another channel, not queued yet, due later.
    email = postcard_reminder(postcard_customer(tenant), channel=MessageChannel.EMAIL)
    pending = postcard_reminder(postcard_customer(tenant), status=ReminderStatus.PENDING)
    later = postcard_reminder(postcard_customer(tenant), due=TODAY + timedelta(days=1))

    batch = _build(tenant)

    assert (batch.status, batch.card_count, batch.problem_count) == (PrintBatchStatus.DRAFT, 3, 3)
    items = list(PrintBatchItem.objects.for_tenant(tenant).filter(batch=batch).order_by("position"))
    # Cards sorted by 〒 (what the post office wants), then the listed problems.
    assert [(i.reminder_id, i.problem) for i in items] == [
        (good[1].pk, ""),
        (good[2].pk, ""),
        (good[0].pk, ""),
        (no_postal.pk, "no postal code"),
        (bad_postal.pk, "postal code is not 7 digits"),
        (no_address.pk, "no address"),
    ]
    # Nothing is sent by building; the others are untouched.
    assert set(_status(tenant).values()) == {ReminderStatus.QUEUED, ReminderStatus.PENDING}
    assert not PrintBatchItem.objects.for_tenant(tenant).filter(reminder__in=[email, pending, later]).exists()
    assert list(
        selectors.print_batch_problems(tenant=tenant, batch=batch).values_list("reminder_id", flat=True)
    ) == [
        no_postal.pk,
        bad_postal.pk,
        no_address.pk,
    ]


def test_the_batch_pdf_has_two_pages_per_card_with_each_customers_address(tenant, postcard_reminder):
    customers = [
        postcard_customer(
            tenant,
            postal="060-0042",
            address="札幌市中央区大通西4丁目",
            family_name="佐藤",
            given_name="花子",
        ),
        postcard_customer(
            tenant,
            postal="150-0001",
            address="渋谷区神宮前1-2-3 絆ビル3F",
            family_name="山田",
            given_name="太郎",
        ),
    ]
    for c in customers:
        postcard_reminder(c)
    postcard_reminder(postcard_customer(tenant, postal=""))  # listed, not printed
    batch = _build(tenant)

    document = selectors.print_batch_document(tenant=tenant, batch=batch)
    pdf = render_postcards(document.cards)

    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        assert len(doc.pages) == 4
        for page in doc.pages:
            assert (page.width, page.height) == (
                pytest.approx(100 * MM, abs=0.5),
                pytest.approx(148 * MM, abs=0.5),
            )
        for n, customer in enumerate(customers):
            address_page, message_page = doc.pages[2 * n], doc.pages[2 * n + 1]
            assert "〒" in address_page.extract_text()
            columns = _columns(address_page, top_mm=24, bottom_mm=128)
            name_at = next(i for i, col in enumerate(columns) if col.endswith("様"))
            nfkc = lambda s: unicodedata.normalize("NFKC", s).replace(" ", "")  # noqa: E731
            assert nfkc("".join(columns[:name_at])) == nfkc("東京都" + customer.address)
            assert nfkc(columns[name_at]) == nfkc(customer.full_name) + "様"
            # The message side is the rule's template rendered in the sandbox for this customer.
            text = message_page.extract_text()
            assert text.startswith("車検のご案内")
            assert f"{customer.full_name} 様" in text


def test_a_customer_who_refused_postcards_or_was_erased_before_the_build_is_not_printed(
    tenant, owner, postcard_reminder
):
    keep = postcard_reminder(postcard_customer(tenant))
    refused_customer = postcard_customer(tenant)
    refused = postcard_reminder(refused_customer)
    ChannelConsent.objects.create(
        tenant=tenant,
        customer=refused_customer,
        channel=MessageChannel.POSTCARD,
        status=ConsentStatus.OPTED_OUT,
        recorded_at=timezone.now(),
        source="phone",
    )
    erased_customer = postcard_customer(tenant)
    erased = postcard_reminder(erased_customer)
    customer_erase(tenant=tenant, customer=erased_customer, actor=owner)

    batch = _build(tenant)

    assert list(PrintBatchItem.objects.for_tenant(tenant).values_list("reminder_id", flat=True)) == [keep.pk]
    assert batch.card_count == 1
    rows = dict(Reminder.objects.for_tenant(tenant).values_list("pk", "reason"))
    assert _status(tenant) == {
        keep.pk: ReminderStatus.QUEUED,
        refused.pk: ReminderStatus.SKIPPED,
        erased.pk: ReminderStatus.SKIPPED,
    }
    assert (rows[refused.pk], rows[erased.pk]) == ("refused postcards", "customer erased")


def test_a_reminder_no_longer_relevant_is_skipped_not_printed(tenant, rules, postcard_reminder):
    customer = postcard_customer(tenant)
    rule = rules[RuleKind.INSPECTION]
    reminder = postcard_reminder(customer)
    reminder.step = rule.steps.get(offset_days=7).step  # after expiry: skipped once a 車検 is recorded
    reminder.save()
    ServiceRecordFactory(customer=customer, vehicle=reminder.vehicle, kind=ServiceKind.SHAKEN, date=TODAY)

    assert _build(tenant) is None
    reminder.refresh_from_db()
    assert (reminder.status, reminder.reason) == (ReminderStatus.SKIPPED, "車検 already recorded")


def test_a_second_build_takes_no_card_twice_and_lists_unfixed_addresses_again(tenant, postcard_reminder):
    card = postcard_reminder(postcard_customer(tenant))
    bad = postcard_reminder(postcard_customer(tenant, postal=""))
    first = _build(tenant)

    second = _build(tenant)

    assert (second.card_count, second.problem_count) == (0, 1)
    assert list(
        PrintBatchItem.objects.for_tenant(tenant).filter(batch=second).values_list("reminder_id", flat=True)
    ) == [bad.pk]
    assert list(
        PrintBatchItem.objects.for_tenant(tenant).filter(problem="").values_list("batch_id", "reminder_id")
    ) == [(first.pk, card.pk)]
    # The address fixed: the next batch prints it.
    Customer.objects.for_tenant(tenant).filter(pk=bad.customer_id).update(postal_code="150-0001")
    third = _build(tenant)
    assert (third.card_count, third.problem_count) == (1, 0)


def test_nothing_to_print_builds_no_batch(tenant, postcard_reminder):
    postcard_reminder(postcard_customer(tenant), channel=MessageChannel.EMAIL)
    assert _build(tenant) is None
    assert not PrintBatch.objects.for_tenant(tenant).exists()


def test_reprint_is_the_same_pdf_and_creates_nothing(tenant, postcard_reminder, monkeypatch):
    for postal in ("150-0001", "060-0042", "900-0015"):
        postcard_reminder(postcard_customer(tenant, postal=postal))
    batch = _build(tenant)
    items_before = list(
        PrintBatchItem.objects.for_tenant(tenant).values_list("pk", "reminder_id", "position")
    )

    first = render_postcards(selectors.print_batch_document(tenant=tenant, batch=batch).cards)
    services.print_batch_mark_printed(tenant=tenant, batch=batch)
    later = time.time() + 61  # a reprint a minute later (signed links must not carry "now")
    monkeypatch.setattr(time, "time", lambda: later)
    again = render_postcards(selectors.print_batch_document(tenant=tenant, batch=batch).cards)
    services.print_batch_mark_printed(tenant=tenant, batch=batch)

    assert again == first
    assert (
        list(PrintBatchItem.objects.for_tenant(tenant).values_list("pk", "reminder_id", "position"))
        == items_before
    )
    batch.refresh_from_db()
    assert (batch.status, batch.print_count, batch.card_count) == (PrintBatchStatus.PRINTED, 2, 3)
    assert set(_status(tenant).values()) == {ReminderStatus.QUEUED}


def test_a_refusal_or_a_cancel_after_the_build_takes_the_card_out_of_the_next_print(
    tenant, postcard_reminder
):
    keep, refuses, cancelled = (postcard_reminder(postcard_customer(tenant)) for _ in range(3))
    batch = _build(tenant)
    ChannelConsent.objects.create(
        tenant=tenant,
        customer=refuses.customer,
        channel=MessageChannel.POSTCARD,
        status=ConsentStatus.OPTED_OUT,
        recorded_at=timezone.now(),
    )
    reminder_cancel(tenant=tenant, reminder=cancelled)

    document = selectors.print_batch_document(tenant=tenant, batch=batch)

    assert len(document.cards) == 1
    assert [(item.reminder_id, why) for item, why in document.left_out] == [
        (refuses.pk, "refused postcards"),
        (cancelled.pk, "no longer to be sent"),
    ]
    assert keep.pk not in {item.reminder_id for item, _why in document.left_out}


def test_marking_posted_sends_each_card_once_with_a_timeline_entry(tenant, manager, postcard_reminder):
    cards = [postcard_reminder(postcard_customer(tenant)) for _ in range(3)]
    bad = postcard_reminder(postcard_customer(tenant, postal=""))
    batch = _build(tenant)

    assert services.print_batch_mark_posted(tenant=tenant, batch=batch, by=manager) == 3

    rows = {r.pk: r for r in Reminder.objects.for_tenant(tenant)}
    for reminder in cards:
        row = rows[reminder.pk]
        assert (row.status, row.channel, row.reason) == (ReminderStatus.SENT, MessageChannel.POSTCARD, "")
        assert row.sent_at is not None
    assert rows[bad.pk].status == ReminderStatus.QUEUED  # listed, not printed: waits for the next batch
    letters = Interaction.objects.for_tenant(tenant).filter(
        channel=Channel.LETTER, source=InteractionSource.REMINDER
    )
    assert sorted(letters.values_list("customer_id", flat=True)) == sorted(r.customer_id for r in cards)
    batch.refresh_from_db()
    assert (batch.status, batch.posted_by, batch.posted_count) == (PrintBatchStatus.POSTED, manager, 3)

    # A second click (or a reprint and another click) counts nothing.
    selectors.print_batch_document(tenant=tenant, batch=batch)
    with pytest.raises(services.PrintBatchNotOpen):
        services.print_batch_mark_posted(tenant=tenant, batch=batch, by=manager)
    assert letters.count() == 3
    assert Reminder.objects.for_tenant(tenant).filter(status=ReminderStatus.SENT).count() == 3
    # The posted batch still prints (a copy for the records): the cards it sent.
    assert len(selectors.print_batch_document(tenant=tenant, batch=batch).cards) == 3


def test_posting_does_not_count_a_card_whose_reminder_was_cancelled_since(tenant, postcard_reminder):
    keep, cancelled = (
        postcard_reminder(postcard_customer(tenant)),
        postcard_reminder(postcard_customer(tenant)),
    )
    batch = _build(tenant)
    reminder_cancel(tenant=tenant, reminder=cancelled)

    assert services.print_batch_mark_posted(tenant=tenant, batch=batch) == 1

    assert _status(tenant) == {keep.pk: ReminderStatus.SENT, cancelled.pk: ReminderStatus.SKIPPED}
    assert Interaction.objects.for_tenant(tenant).filter(customer=cancelled.customer).count() == 0


def test_a_cancelled_batch_frees_its_cards_for_the_next_one(tenant, postcard_reminder):
    reminder = postcard_reminder(postcard_customer(tenant))
    batch = _build(tenant)

    services.print_batch_cancel(tenant=tenant, batch=batch)

    with pytest.raises(services.PrintBatchNotOpen):
        services.print_batch_mark_posted(tenant=tenant, batch=batch)
    assert _status(tenant) == {reminder.pk: ReminderStatus.QUEUED}
    again = _build(tenant)
    assert list(
        PrintBatchItem.objects.for_tenant(tenant).filter(batch=again).values_list("reminder_id", flat=True)
    ) == [reminder.pk]


def test_the_monthly_job_builds_one_batch_per_shop_from_its_own_reminders(
    tenant, other_tenant, postcard_reminder
):
    mine = postcard_reminder(postcard_customer(tenant))
    other_rule = next(
        r for r in reminder_defaults_create(tenant=other_tenant) if r.kind == RuleKind.INSPECTION
    )
    theirs = [postcard_reminder(postcard_customer(other_tenant), rule=other_rule) for _ in range(2)]

    built = services.print_batches_build_all(due_until=TODAY)

    assert built == {tenant.slug: 1, other_tenant.slug: 2}
    assert list(PrintBatchItem.objects.for_tenant(tenant).values_list("reminder_id", flat=True)) == [mine.pk]
    assert sorted(
        PrintBatchItem.objects.for_tenant(other_tenant).values_list("reminder_id", flat=True)
    ) == sorted(r.pk for r in theirs)
    # Run again the same day: nothing new.
    assert services.print_batches_build_all(due_until=TODAY) == {}


def test_preview_count_is_what_a_build_would_take(tenant, postcard_reminder):
    for _ in range(2):
        postcard_reminder(postcard_customer(tenant))
    postcard_reminder(postcard_customer(tenant, postal=""))
    with tenant_context(tenant.pk):
        assert selectors.print_batch_preview_count(tenant=tenant, due_until=TODAY) == 3
    _build(tenant)
    assert selectors.print_batch_preview_count(tenant=tenant, due_until=TODAY) == 1  # the bad address


def test_the_beat_runs_the_monthly_build_on_the_first_of_the_month(settings, tenant, postcard_reminder):
    entry = settings.CELERY_BEAT_SCHEDULE["build-print-batches-monthly"]
    assert entry["task"] == tasks.build_print_batches.name == "reminders.tasks.build_print_batches"
    assert entry["schedule"] == crontab(day_of_month=1, hour=6, minute=0)
    reminder = postcard_reminder(postcard_customer(tenant), due=timezone.localdate() - timedelta(days=1))
    assert tasks.build_print_batches() == {tenant.slug: 1}
    assert list(PrintBatchItem.objects.for_tenant(tenant).values_list("reminder_id", flat=True)) == [
        reminder.pk
    ]


@pytest.mark.parametrize("n", [3, 15])
def test_building_and_loading_a_batch_take_the_same_queries_for_any_size(tenant, postcard_reminder, n):
    for _ in range(n):
        postcard_reminder(postcard_customer(tenant))
    postcard_reminder(postcard_customer(tenant, postal=""))
    with CaptureQueriesContext(connection) as build:
        batch = _build(tenant)
    with CaptureQueriesContext(connection) as load:
        document = selectors.print_batch_document(tenant=tenant, batch=batch)
    assert len(document.cards) == n
    # Fixed numbers whatever n (set-based): the build locks the candidates with their customers and rules in
    # one read, checks relevance, erasure, refusals and templates once each, inserts the batch and all its
    # items; the print reads the items (with everything a card needs), erasure, refusals and templates.
    assert (len(build), len(load)) == (10, 4), [q["sql"][:60] for q in build.captured_queries]
