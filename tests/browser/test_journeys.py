"""The main journeys of a service desk, in a real browser (marked `browser`)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from customers.models import Customer
from interactions.models import Interaction
from tests.browser.conftest import login, shot
from tests.conftest import PASSWORD
from tests.factories import (
    CustomerFactory,
    DealFactory,
    MembershipFactory,
    PurchaseFactory,
    TenantFactory,
    UserFactory,
    VehicleFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shop(transactional_db):
    tenant = TenantFactory(slug="kizuna-motors", name="絆モータース 渋谷店")
    user = UserFactory(email="sato@kizuna.test", password=PASSWORD, display_name="佐藤 店長")
    MembershipFactory(tenant=tenant, user=user, role="owner")
    today = timezone.localdate()
    due = CustomerFactory(
        tenant=tenant,
        family_name="山田",
        given_name="太郎",
        family_name_kana="ヤマダ",
        given_name_kana="タロウ",
        assigned_staff=user,
    )
    VehicleFactory(
        customer=due, inspection_expiry=today + timedelta(days=5), plate_number="品川 300 さ 12-34"
    )
    PurchaseFactory(customer=due, amount=2_480_000, category_code="new_car")
    DealFactory(customer=due, title="アクア乗り換え", owner=user)
    for i in range(8):
        c = CustomerFactory(tenant=tenant, family_name=["鈴木", "高橋", "田中", "伊藤"][i % 4])
        VehicleFactory(customer=c, inspection_expiry=today + timedelta(days=20 + 30 * i))
    return {"tenant": tenant, "user": user, "due": due}


def test_today_to_customer_due_for_inspection_and_log_a_call(page, shop):
    login(page, "sato@kizuna.test", PASSWORD)
    page.wait_for_selector("h1")
    assert "/tenants/" not in page.url
    shot(page, "today")
    page.get_by_role("link", name="山田 太郎").first.click()
    page.wait_for_selector("#h-timeline")
    shot(page, "customer_360")
    page.select_option("#id_channel", "phone")
    page.fill("#id_summary", "車検の見積をご案内。来週来店予定。")
    page.click("#log-submit")
    page.wait_for_selector(".alert-success")
    assert "車検の見積をご案内" in page.inner_text("#h-timeline ~ ol")
    shot(page, "customer_360_after_call")
    assert Interaction.objects.for_tenant(shop["tenant"]).get().summary.startswith("車検の見積")
    for name, path in [
        ("customer_list", "/customers/"),
        ("vehicles", "/customers/vehicles/"),
        ("deals", "/deals/"),
        ("settings_profile", "/settings/"),
        ("settings_members", "/settings/members/"),
        ("settings_api_keys", "/settings/api-keys/"),
        ("settings_handover", "/settings/handover/"),
    ]:
        page.goto(page.base + path)
        page.wait_for_selector("h1")
        shot(page, name)
    assert page.js_errors == []


def test_create_customer_with_bad_postal_code_then_fix_it(page, shop):
    login(page, "sato@kizuna.test", PASSWORD)
    page.goto(page.base + "/customers/new/")
    page.fill("#id_family_name", "中村")
    page.fill("#id_given_name", "美咲")
    page.fill("#id_family_name_kana", "ナカムラ")
    page.fill("#id_given_name_kana", "ミサキ")
    page.fill("#id_postal_code", "15-0001")
    page.click("#customer-save")
    page.wait_for_selector("#id_postal_code_error")
    shot(page, "customer_form_errors")
    assert page.get_attribute("#id_postal_code", "aria-invalid") == "true"
    page.fill("#id_postal_code", "150-0001")
    page.click("#customer-save")
    page.wait_for_selector("#h-timeline")
    assert Customer.objects.for_tenant(shop["tenant"]).get(family_name="中村").postal_code == "150-0001"


def test_import_csv_with_one_bad_row_shows_the_report(page, shop, tmp_path):
    csv_file = tmp_path / "顧客.csv"
    csv_file.write_bytes(
        (
            "family_name,given_name,family_name_kana,postal_code\n"
            "小林,健,コバヤシ,150-0001\n"
            "加藤,愛,kato,150-0002\n"
            "吉田,誠,ヨシダ,160-0022\n"
        ).encode("cp932")
    )
    login(page, "sato@kizuna.test", PASSWORD)
    page.goto(page.base + "/customers/import/")
    shot(page, "import_upload")
    page.select_option("#id_kind", "customers")
    page.set_input_files("#id_file", str(csv_file))
    page.check("#id_skip_invalid")
    page.click("#import-upload")
    page.wait_for_selector(".import-errors")
    shot(page, "import_check")
    report = page.inner_text(".import-errors")
    assert "family_name_kana" in report and "3" in report
    assert "Shift_JIS" in page.inner_text("main")
    page.click("#import-run")
    page.wait_for_selector("#import-progress[data-status=pending]")
    shot(page, "import_job_pending")
    from customers.imports import import_job_run
    from customers.models import ImportJob

    job = ImportJob.objects.for_tenant(shop["tenant"]).get()
    import_job_run(tenant=shop["tenant"], job_id=job.pk)  # the Celery worker's part
    page.wait_for_selector("#import-progress[data-status=done]", timeout=10_000)  # htmx polling picks it up
    shot(page, "import_done")
    assert "family_name_kana" in page.inner_text("#import-progress")
    names = set(Customer.objects.for_tenant(shop["tenant"]).values_list("family_name", flat=True))
    assert {"小林", "吉田"} <= names and "加藤" not in names


def test_change_a_reminder_template_and_preview_it(page, shop):
    from reminders.services import reminder_template_create

    template = reminder_template_create(
        tenant=shop["tenant"],
        name="車検案内",
        language="ja",
        subject="車検のご案内",
        body="{{ customer_name }} 様",
    )
    login(page, "sato@kizuna.test", PASSWORD)
    page.goto(page.base + f"/reminders/templates/{template.pk}/?customer={shop['due'].pk}")
    page.fill("#id_subject", "【絆モータース】車検のご案内")
    page.get_by_role("button", name="保存").click()
    page.wait_for_load_state()
    page.goto(page.base + f"/reminders/templates/{template.pk}/?customer={shop['due'].pk}")
    page.wait_for_selector(".card-header")
    shot(page, "reminder_template_preview")
    assert "【絆モータース】車検のご案内" in page.inner_text(".card-header")


def test_switch_language(page, shop):
    login(page, "sato@kizuna.test", PASSWORD)
    assert page.get_attribute("html", "lang") == "ja" and "顧客" in page.inner_text("nav")
    page.select_option("#lang-select", "en")
    page.wait_for_selector("html[lang='en']", state="attached")  # no string eval: the CSP forbids it
    shot(page, "today_english")
    assert "Customers" in page.inner_text("nav")
    # On a tablet the menu collapses behind a button; the switch is still reachable.
    page.set_viewport_size({"width": 1024, "height": 768})
    page.goto(page.base + f"/customers/{shop['due'].pk}/")
    page.click(".navbar-toggler")
    page.wait_for_selector("#lang-select", state="visible")
    shot(page, "customer_360_tablet_menu_english")
    page.select_option("#lang-select", "ja")
    page.wait_for_selector("html[lang='ja']", state="attached")
    page.wait_for_selector("#h-timeline")
    shot(page, "customer_360_tablet")
    assert page.js_errors == []
