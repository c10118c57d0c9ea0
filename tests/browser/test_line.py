"""LINE inbound in a real browser: the QR code on the Customer 360, a reply, the inbox, the customer's
link page on a phone, in Japanese and English, under the strict CSP (marked `browser`)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from channels.line_linking import link_token_make
from channels.models import LineContact
from channels.services import channel_settings_update
from tests.browser.conftest import login, shot
from tests.channels.line.conftest import body_of, post_webhook, text_event
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory, MembershipFactory, TenantFactory, UserFactory, VehicleFactory
from tests.fakes.line_api import FakeLineAPI, line_user_id

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SECRET = "browser-shop-line-secret"
TOKEN = "browser-shop-line-token"


@pytest.fixture
def line_api(settings):
    fake = FakeLineAPI(tokens={TOKEN}).start()
    settings.LINE_BACKEND = "http"
    settings.LINE_API_BASE_URL = fake.url
    yield fake
    fake.stop()


@pytest.fixture
def shop(transactional_db):
    tenant = TenantFactory(slug="line-shop", name="絆モータース")
    channel_settings_update(
        tenant=tenant,
        line_channel_id="1650000000",
        line_channel_secret=SECRET,
        line_access_token=TOKEN,
        line_basic_id="@kizuna-motors",
    )
    user = UserFactory(email="line-staff@kizuna.test", password=PASSWORD, display_name="受付 花子")
    MembershipFactory(tenant=tenant, user=user, role="staff")
    return tenant


def test_qr_code_on_the_customer_360_and_a_reply(page, shop, line_api):
    customer = CustomerFactory(tenant=shop, family_name="高橋", given_name="一郎")
    linked = CustomerFactory(tenant=shop, family_name="佐藤", given_name="花子")
    user = line_user_id("browser-linked")
    LineContact.objects.create(tenant=shop, line_user_id=user, customer=linked, linked_at=timezone.now())
    post_webhook(shop, body_of(text_event(user, "土曜日に車検の相談に行ってもいいですか?")), secret=SECRET)
    login(page, "line-staff@kizuna.test", PASSWORD)
    # A customer without LINE: show the QR code (htmx swaps the LINE card).
    page.goto(page.base + f"/customers/{customer.pk}/")
    page.click("#line-show-qr")
    page.wait_for_selector("#line-link-qr svg")
    code = page.inner_text("#line-link-code")
    assert len(code) == 9 and code[4] == "-"
    page.locator("#line-panel").scroll_into_view_if_needed()
    shot(page, "line_customer_360_qr")
    # A linked customer with a message: it is on the card; reply from there.
    page.goto(page.base + f"/customers/{linked.pk}/")
    assert "土曜日に車検の相談" in page.inner_text("#line-panel")
    page.fill("#line-panel textarea", "はい、お待ちしております。")
    page.click("#line-reply-submit")
    page.wait_for_selector("#line-panel .alert-success")
    assert [d["messages"][0]["text"] for d in line_api.delivered_to(user)] == ["はい、お待ちしております。"]
    shot(page, "line_customer_360_replied")
    assert page.js_errors == []


def test_inbox_and_today_list_unanswered_messages_in_ja_and_en(page, shop):
    customer = CustomerFactory(tenant=shop, family_name="伊藤")
    user = line_user_id("browser-inbox")
    LineContact.objects.create(tenant=shop, line_user_id=user, customer=customer, linked_at=timezone.now())
    post_webhook(shop, body_of(text_event(user, "タイヤ交換の見積もりをお願いします")), secret=SECRET)
    post_webhook(
        shop, body_of(text_event(line_user_id("stranger"), "はじめまして。営業時間は?")), secret=SECRET
    )
    login(page, "line-staff@kizuna.test", PASSWORD)
    page.goto(page.base + "/")
    assert "タイヤ交換の見積もり" in page.inner_text("#today-line")
    shot(page, "line_today_ja")
    page.goto(page.base + "/line/inbox/")
    text = page.inner_text("main")
    assert "未返信のLINEメッセージ" in text and "タイヤ交換の見積もり" in text and "営業時間は" in text
    shot(page, "line_inbox_ja")
    page.select_option("#lang-select", "en")
    page.wait_for_selector("html[lang='en']", state="attached")
    assert "Unanswered LINE messages" in page.inner_text("main")
    shot(page, "line_inbox_en")
    page.click("text=Mark done")
    page.wait_for_load_state()
    assert "タイヤ交換の見積もり" not in page.inner_text("main")
    page.goto(page.base + "/line/counter-qr/")
    page.wait_for_selector("#line-counter-qr svg")
    shot(page, "line_counter_qr_en")
    assert page.js_errors == []


def test_customer_links_on_the_link_page_on_a_phone(chromium, live_server, shop):
    customer = CustomerFactory(tenant=shop, phone="090-5555-6666")
    VehicleFactory(customer=customer, plate_number="横浜 500 あ 77-88")
    user = line_user_id("browser-phone")
    token = link_token_make(tenant_id=shop.pk, line_user_id=user)
    context = chromium.new_context(viewport={"width": 390, "height": 844}, locale="ja-JP")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(live_server.url + f"/line/link/{token}/")
    assert "絆モータース" in page.inner_text("main")
    shot(page, "line_link_page_ja")
    page.fill("#id_phone", "09055556666")
    page.fill("#id_plate", "横浜500あ77-88")
    page.click("#line-link-submit")
    page.wait_for_selector("#line-linked")
    shot(page, "line_link_page_done_ja")
    assert LineContact.objects.for_tenant(shop).get(line_user_id=user).customer_id == customer.pk
    assert errors == []
    context.close()
