"""Reminders → Postcards in a real browser (marked `browser`): build, see the bad address, download, post."""

from __future__ import annotations

import io
from datetime import timedelta

import pdfplumber
import pytest
from django.utils import timezone

from channels.models import MessageChannel
from customers.models import Customer
from reminders.models import PrintBatch, PrintBatchStatus, Reminder, ReminderStatus, RuleKind
from reminders.services import reminder_defaults_create
from tests.browser.conftest import login, shot
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory, MembershipFactory, TenantFactory, UserFactory, VehicleFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shop(transactional_db):
    tenant = TenantFactory(
        slug="hagaki-motors", name="絆モータース", address="〒150-0001 東京都渋谷区神宮前1-1-1"
    )
    manager = UserFactory(email="kacho@hagaki.test", password=PASSWORD, display_name="田中 課長")
    MembershipFactory(tenant=tenant, user=manager, role="manager")
    rule = next(r for r in reminder_defaults_create(tenant=tenant) if r.kind == RuleKind.INSPECTION)
    today = timezone.localdate()
    people = [("山田", "太郎", "123-4567"), ("佐藤", "花子", "060-0042"), ("住所", "なし", "")]
    for family, given, postal in people:
        customer = CustomerFactory(tenant=tenant, family_name=family, given_name=given)
        Customer.objects.for_tenant(tenant).filter(pk=customer.pk).update(postal_code=postal)
        vehicle = VehicleFactory(customer=customer, inspection_expiry=today + timedelta(days=60))
        Reminder.objects.create(
            tenant=tenant,
            rule=rule,
            step=1,
            customer=customer,
            vehicle=vehicle,
            occasion_date=today + timedelta(days=60),
            due_date=today,
            status=ReminderStatus.QUEUED,
            channel=MessageChannel.POSTCARD,
        )
    return tenant


def test_a_manager_prints_and_posts_a_batch_of_postcards(page, shop):
    login(page, "kacho@hagaki.test", PASSWORD)
    page.goto(page.base + "/reminders/postcards/")
    page.wait_for_selector("h1")
    assert page.inner_text("#postcards-waiting") == "3"
    shot(page, "postcards_list")

    page.get_by_role("button", name="今すぐ印刷バッチを作成").click()
    page.wait_for_selector("#batch-problems")
    batch = PrintBatch.objects.for_tenant(shop).get()
    assert page.inner_text("#batch-cards").startswith("2")
    assert "郵便番号がありません" in page.inner_text("#batch-problems")
    shot(page, "postcards_batch")

    with page.expect_download() as download:
        page.get_by_role("link", name="はがき・縦書き宛名（PDF）").click()
    with pdfplumber.open(io.BytesIO(open(download.value.path(), "rb").read())) as pdf:
        assert len(pdf.pages) == 4
        assert "〒" in pdf.pages[0].extract_text()

    page.get_by_role("button", name="投函済みにする").click()  # not confirmed: refused
    page.wait_for_selector(".alert")
    assert Reminder.objects.for_tenant(shop).filter(status=ReminderStatus.SENT).count() == 0
    page.check("#id_confirm")
    page.get_by_role("button", name="投函済みにする").click()
    page.wait_for_selector(".alert-success")
    shot(page, "postcards_posted")
    batch.refresh_from_db()
    assert batch.status == PrintBatchStatus.POSTED
    assert Reminder.objects.for_tenant(shop).filter(status=ReminderStatus.SENT).count() == 2
    assert page.js_errors == []
