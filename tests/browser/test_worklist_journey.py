"""This week's list in a real browser (marked `browser`): a staff member logs in, opens Today, sees
their list with the reasons, creates a deal from one entry with one click (htmx swaps the card) and
the deal exists at the proposal stage. At a desk's 1280 px and a phone's 390 px; screenshots:
artifacts/screenshots/worklist_*.png."""

from __future__ import annotations

import pytest
from django.utils import timezone

from interactions.models import Deal, DealStage
from opportunities.models import ScoreMethod, WorklistEntry
from opportunities.worklist import worklist_refresh
from tests.browser.conftest import login, shot
from tests.browser.test_layout_and_a11y import LOW_CONTRAST, PAGE_OVERFLOW, UNLABELLED_INPUTS
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory, MembershipFactory, TenantFactory, UserFactory, VehicleFactory
from tests.opportunities.scores import leaving, replacement

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CARS = [
    # family name, given name, maker, model, plate, expected value, probability, facts
    (
        "高橋",
        "誠",
        "トヨタ",
        "アルファード",
        "品川 300 さ 12-34",
        228_000,
        0.38,
        {"mileage": 128000, "repairs_12m": 180000},
    ),
    ("伊藤", "美咲", "ホンダ", "N-BOX", "練馬 580 あ 45-67", 96_000, 0.32, {"mileage": 104000}),
    ("中村", "健太", "日産", "セレナ", "世田谷 330 ぬ 88-01", 61_000, 0.22, {"repairs_12m": 95000}),
]


@pytest.fixture
def shop(transactional_db):
    tenant = TenantFactory(slug="kizuna-motors", name="絆モータース 渋谷店")
    staff = UserFactory(email="suzuki@kizuna.test", password=PASSWORD, display_name="鈴木 一郎")
    MembershipFactory(tenant=tenant, user=staff, role="staff")
    for family, given, maker, model, plate, value, p, facts in CARS:
        customer = CustomerFactory(tenant=tenant, family_name=family, given_name=given, assigned_staff=staff)
        car = VehicleFactory(customer=customer, maker=maker, model_name=model, plate_number=plate)
        replacement(car, value=value, probability=p, method=ScoreMethod.MODEL, facts=facts)
    regular = CustomerFactory(
        tenant=tenant, family_name="小林", given_name="由美", assigned_staff=staff,
        consent="opted_in", consent_at=timezone.now(),
    )  # fmt: skip
    leaving(regular, value=54_000, facts={"overdue_days": 75})
    worklist_refresh(tenant=tenant)
    return {"tenant": tenant, "staff": staff}


def _check_layout(page, name, width):
    problems = []
    if (overflow := page.evaluate(PAGE_OVERFLOW)) > 0:
        problems.append(f"{name} @{width}px: page scrolls sideways by {overflow}px")
    problems += [f"{name}: unlabelled {html}" for html in page.evaluate(UNLABELLED_INPUTS)]
    problems += [f"{name} @{width}px: contrast {c}" for c in page.evaluate(LOW_CONTRAST)]
    assert problems == []


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_staff_creates_a_deal_from_this_weeks_list_on_today(page, shop, width, height):
    page.set_viewport_size({"width": width, "height": height})
    login(page, "suzuki@kizuna.test", PASSWORD)
    page.goto(page.base + "/")
    panel = page.locator("#today-worklist")
    panel.wait_for()
    assert "今週の提案リスト" in panel.inner_text()
    names = panel.locator(".wl-entry a.fw-semibold").all_inner_texts()
    assert names == ["高橋 誠", "伊藤 美咲", "中村 健太", "小林 由美"]
    assert "履歴から学習" in panel.inner_text()
    shot(page, f"worklist_today_{width}")
    # A full-page screenshot leaves `style=""` on inputs, which htmx's settle would copy into the swapped
    # card (an inline style the CSP refuses); a person's browser has none.
    page.evaluate(
        "() => document.querySelectorAll('[style=\"\"]').forEach(el => el.removeAttribute('style'))"
    )

    top = WorklistEntry.objects.for_tenant(shop["tenant"]).get(customer__family_name="高橋")
    card = page.locator(f"#wl-entry-{top.pk}")
    card.locator("button[data-action=deal]").click()
    page.locator(f"#wl-entry-{top.pk} [data-done=deal]").wait_for()
    assert "提案段階の商談を作成しました" in page.locator(f"#wl-entry-{top.pk}").inner_text()
    shot(page, f"worklist_today_after_deal_{width}")
    _check_layout(page, "worklist_today", width)

    deal = Deal.objects.for_tenant(shop["tenant"]).get()
    assert (deal.customer_id, deal.vehicle_id, deal.stage, deal.owner_id) == (
        top.customer_id,
        top.vehicle_id,
        DealStage.PROPOSAL,
        shop["staff"].pk,
    )
    assert deal.expected_amount == 600_000  # 228,000 / 0.38

    page.goto(page.base + "/worklist/")
    page.wait_for_selector("h1")
    assert page.locator(".wl-entry").count() == 4
    _check_layout(page, "worklist_page", width)
    shot(page, f"worklist_page_{width}")
    assert page.js_errors == []
