"""Reminders → Postcards pages: roles, PDF downloads, posting with confirmation, other shops' batches."""

from __future__ import annotations

import io

import pdfplumber
import pytest
from django.urls import reverse

from interactions.models import Interaction
from reminders.models import PrintBatch, PrintBatchStatus, Reminder, ReminderStatus
from reminders.postcards import services
from tests.reminders.postcards.conftest import TODAY, postcard_customer

MM = 72 / 25.4


@pytest.fixture
def batch(tenant, postcard_reminder):
    for postal in ("150-0001", "060-0042"):
        postcard_reminder(postcard_customer(tenant, postal=postal))
    postcard_reminder(postcard_customer(tenant, postal="", family_name="無番地"))
    return services.print_batch_create(tenant=tenant, due_until=TODAY)


def _snapshot(tenant):
    return (
        sorted(Reminder.objects.for_tenant(tenant).values_list("pk", "status")),
        list(PrintBatch.objects.for_tenant(tenant).values_list("pk", "status", "print_count")),
        Interaction.objects.for_tenant(tenant).count(),
    )


def test_staff_sees_the_waiting_count_and_builds_a_batch(
    tenant, staff_client, postcard_reminder, monkeypatch
):
    monkeypatch.setattr(services, "local_today", lambda tenant: TODAY)
    postcard_reminder(postcard_customer(tenant))
    postcard_reminder(postcard_customer(tenant, postal=""))
    page = staff_client.get(reverse("reminders:postcards"))
    assert page.status_code == 200
    assert b'id="postcards-waiting">2<' in page.content

    response = staff_client.post(reverse("reminders:postcards"))

    batch = PrintBatch.objects.for_tenant(tenant).get()
    assert response.status_code == 302 and response.url == reverse(
        "reminders:postcard_batch", args=[batch.pk]
    )
    assert (batch.card_count, batch.problem_count) == (1, 1)
    detail = staff_client.get(response.url, HTTP_ACCEPT_LANGUAGE="en")
    assert detail.status_code == 200
    assert "no postal code" in detail.content.decode()
    assert b"Mark as posted" not in detail.content  # staff prints; a manager posts


@pytest.mark.parametrize(
    ("kind", "query", "pages", "size_mm"),
    [
        ("cards", "", 4, (100, 148)),
        ("cards", "?layout=horizontal", 4, (100, 148)),
        ("cards", "?sides=address&boxes=0", 2, (100, 148)),
        ("labels-12", "", 1, (210, 297)),
        ("labels-24", "", 1, (210, 297)),
    ],
)
def test_the_pdf_downloads(tenant, staff_client, batch, kind, query, pages, size_mm):
    response = staff_client.get(reverse("reminders:postcard_pdf", args=[batch.pk, kind]) + query)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="postcards-{batch.pk}-{kind}.pdf"'
    with pdfplumber.open(io.BytesIO(response.content)) as pdf:
        assert len(pdf.pages) == pages
        assert pdf.pages[0].width == pytest.approx(size_mm[0] * MM, abs=0.5)
        assert pdf.pages[0].height == pytest.approx(size_mm[1] * MM, abs=0.5)
        assert "〒" in pdf.pages[0].extract_text()
        assert "無番地" not in "".join(p.extract_text() for p in pdf.pages)
    batch.refresh_from_db()
    assert (batch.status, batch.print_count) == (PrintBatchStatus.PRINTED, 1)


def test_an_unknown_pdf_kind_is_404(staff_client, batch):
    assert (
        staff_client.get(reverse("reminders:postcard_pdf", args=[batch.pk, "labels-99"])).status_code == 404
    )


def test_viewers_get_no_postcard_pages(tenant, viewer_client, batch):
    before = _snapshot(tenant)
    for url in (
        reverse("reminders:postcards"),
        reverse("reminders:postcard_batch", args=[batch.pk]),
        reverse("reminders:postcard_pdf", args=[batch.pk, "cards"]),
    ):
        assert viewer_client.get(url).status_code == 403
    assert viewer_client.post(reverse("reminders:postcards")).status_code == 403
    assert _snapshot(tenant) == before


def test_staff_cannot_mark_posted_or_cancel(tenant, staff_client, batch):
    before = _snapshot(tenant)
    post = staff_client.post(reverse("reminders:postcard_post", args=[batch.pk]), {"confirm": "on"})
    cancel = staff_client.post(reverse("reminders:postcard_cancel", args=[batch.pk]))
    assert (post.status_code, cancel.status_code) == (403, 403)
    assert _snapshot(tenant) == before


def test_a_manager_marks_posted_only_with_the_confirmation_and_only_once(tenant, manager_client, batch):
    url = reverse("reminders:postcard_post", args=[batch.pk])
    before = _snapshot(tenant)
    assert manager_client.post(url).status_code == 302
    assert _snapshot(tenant) == before  # not confirmed: nothing happened

    assert manager_client.post(url, {"confirm": "on"}).status_code == 302
    sent = Reminder.objects.for_tenant(tenant).filter(status=ReminderStatus.SENT).count()
    assert sent == 2
    after = _snapshot(tenant)

    second = manager_client.post(url, {"confirm": "on"}, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "already posted" in second.content.decode()
    assert _snapshot(tenant) == after
    assert Interaction.objects.for_tenant(tenant).count() == 2


def test_a_manager_cancels_a_batch(tenant, manager_client, batch):
    assert manager_client.post(reverse("reminders:postcard_cancel", args=[batch.pk])).status_code == 302
    batch.refresh_from_db()
    assert batch.status == PrintBatchStatus.CANCELLED
    assert set(Reminder.objects.for_tenant(tenant).values_list("status", flat=True)) == {
        ReminderStatus.QUEUED
    }


def test_another_shops_batch_is_404_for_every_page_pdf_and_action(tenant, other_client, batch):
    before = _snapshot(tenant)
    for url in (
        reverse("reminders:postcard_batch", args=[batch.pk]),
        *(
            reverse("reminders:postcard_pdf", args=[batch.pk, kind])
            for kind in ("cards", "labels-12", "labels-24")
        ),
    ):
        assert other_client.get(url).status_code == 404, url
    assert (
        other_client.post(reverse("reminders:postcard_post", args=[batch.pk]), {"confirm": "on"}).status_code
        == 404
    )
    assert other_client.post(reverse("reminders:postcard_cancel", args=[batch.pk])).status_code == 404
    # Their list shows none of ours, and building there takes none of our reminders.
    assert b"#%d<" % batch.pk not in other_client.get(reverse("reminders:postcards")).content
    other_client.post(reverse("reminders:postcards"))
    assert _snapshot(tenant) == before


@pytest.mark.parametrize(
    ("language", "words"),
    [
        (
            "ja",
            ["はがき", "印刷バッチ #", "投函済みにする", "郵便番号がありません", "宛名ラベル A4 24面（PDF）"],
        ),
        ("en", ["Postcards", "Print batch #", "Mark as posted", "no postal code", "Labels, A4 24-up (PDF)"]),
    ],
)
def test_the_batch_page_in_japanese_and_english(manager_client, batch, language, words):
    page = manager_client.get(
        reverse("reminders:postcard_batch", args=[batch.pk]), HTTP_ACCEPT_LANGUAGE=language
    )
    text = page.content.decode()
    assert [w for w in words if w not in text] == []


def test_a_batch_without_printable_cards_downloads_nothing(tenant, staff_client, postcard_reminder):
    postcard_reminder(postcard_customer(tenant, postal=""))
    batch = services.print_batch_create(tenant=tenant, due_until=TODAY)

    response = staff_client.get(reverse("reminders:postcard_pdf", args=[batch.pk, "cards"]))

    assert response.status_code == 302
    batch.refresh_from_db()
    assert (batch.status, batch.print_count) == (PrintBatchStatus.DRAFT, 0)
