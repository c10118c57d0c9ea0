"""Channel settings and a customer's channels in a real browser (marked `browser`), in Japanese."""

from __future__ import annotations

import pytest

from channels.models import ChannelConsent
from channels.selectors import line_credentials
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
