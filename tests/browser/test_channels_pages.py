"""Channel settings and a customer's channels in a real browser (marked `browser`), in Japanese."""

from __future__ import annotations

import pytest

from channels.models import ChannelConsent, LineContact
from channels.selectors import line_credentials
from channels.services import channel_settings_update
from tests.browser.conftest import login, shot
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory, MembershipFactory, TenantFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shop(transactional_db):
    tenant = TenantFactory(slug="kizuna-motors", name="絆モータース 渋谷店")
    user = UserFactory(email="sato@kizuna.test", password=PASSWORD, display_name="佐藤 店長")
    MembershipFactory(tenant=tenant, user=user, role="owner")
    customer = CustomerFactory(tenant=tenant, family_name="山田", given_name="太郎", phone="090-1111-2222")
    return {"tenant": tenant, "customer": customer}


def test_owner_enters_line_credentials_and_staff_records_sms_consent(page, shop):
    tenant, customer = shop["tenant"], shop["customer"]
    login(page, "sato@kizuna.test", PASSWORD)
    page.goto(page.base + "/settings/channels/")
    page.wait_for_selector("h1")
    assert "Webhook URL" in page.inner_text("main") or "Webhook URL" in page.content()
    page.fill("#id_channel_order", "line,email,sms,postcard")
    page.fill("#id_line_channel_id", "1650000000")
    page.fill("#id_line_channel_secret", "secret-from-the-console")
    page.fill("#id_line_access_token", "long-lived-token")
    page.click("button:has-text('保存')")
    page.wait_for_selector("#line-status")
    assert "保存済み" in page.inner_text("#line-status")
    assert page.input_value("#id_line_access_token") == ""  # never shown back
    assert "long-lived-token" not in page.content()
    shot(page, "channels_settings")
    assert line_credentials(tenant_id=tenant.pk).access_token == "long-lived-token"

    page.goto(page.base + f"/customers/{customer.pk}/channels/")
    page.wait_for_selector("h1")
    page.select_option("#id_sms", "opted_in")
    page.fill("#id_source", "店頭で同意書に署名")
    page.click("button:has-text('保存')")
    page.wait_for_selector("#receivable")
    assert "SMS" in page.inner_text("#receivable")
    shot(page, "channels_customer")
    consent = ChannelConsent.objects.for_tenant(tenant).get(customer=customer)
    assert (consent.status, consent.source) == ("opted_in", "店頭で同意書に署名")
    assert page.js_errors == []
    assert page.csp_violations == []


def test_customer_360_shows_the_channels_panel_and_links_to_its_edit_page(page, shop):
    tenant, customer = shop["tenant"], shop["customer"]
    channel_settings_update(tenant=tenant, channel_order="line,email,sms")
    LineContact.objects.create(
        tenant=tenant, line_user_id="U" + "c" * 32, customer=customer, display_name="たろう"
    )
    login(page, "sato@kizuna.test", PASSWORD)
    page.goto(page.base + f"/customers/{customer.pk}/")
    page.wait_for_selector("#channels-panel")
    panel = page.inner_text("#channels-panel")
    assert "連絡チャネルと同意" in panel and "店舗の標準の優先順" in panel
    assert page.inner_text("#channels-panel thead").split() == ["#", "チャネル", "配信同意", "現在受信可能"]
    assert page.inner_text("#channels-panel tr[data-channel='line']").split() == [
        "1",
        "LINE",
        "連携済み・友だち",
        "受信可",
    ]
    shot(page, "customer_360_channels_panel")

    page.click("#customer-channels-link")
    page.wait_for_selector("#id_channel_order")
    page.fill("#id_channel_order", "email,line")
    page.click("button:has-text('保存')")
    page.wait_for_selector("#receivable")
    page.goto(page.base + f"/customers/{customer.pk}/")
    page.wait_for_selector("#channels-panel")
    assert "この顧客用の優先順" in page.inner_text("#channel-order-source")
    assert page.inner_text("#channels-panel tr[data-channel='line'] td").strip() == "2"
    assert page.js_errors == []
    assert page.csp_violations == []
