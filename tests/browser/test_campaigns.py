"""Campaigns in a real browser (marked `browser`): staff drafts one with the audience builder, sees the
preview and submits it; it is above the threshold, so a manager approves it. Every input is labelled."""

from __future__ import annotations

import pytest
from django.utils import timezone

from customers.models import CustomerTag, Tag
from reminders.models import Campaign, CampaignSettings, CampaignStatus
from reminders.services import reminder_defaults_create
from tests.browser.conftest import login, shot
from tests.browser.test_layout_and_a11y import UNLABELLED_INPUTS
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory, MembershipFactory, TenantFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shop(transactional_db):
    tenant = TenantFactory(slug="campaign-motors", name="絆モータース")
    for email, role in (("tanto@campaign.test", "staff"), ("kacho@campaign.test", "manager")):
        MembershipFactory(tenant=tenant, user=UserFactory(email=email, password=PASSWORD), role=role)
    reminder_defaults_create(tenant=tenant)
    vip = Tag.objects.create(tenant=tenant, name="vip")
    people = [
        CustomerFactory(
            tenant=tenant,
            family_name="常連",
            given_name=f"{i}様",
            consent="opted_in",
            consent_at=timezone.now(),
        )
        for i in range(12)
    ]
    CustomerTag.objects.bulk_create([CustomerTag(tenant=tenant, customer=c, tag=vip) for c in people])
    CustomerFactory(tenant=tenant, family_name="一見", given_name="客")
    CampaignSettings.objects.create(tenant=tenant, approval_threshold=10)
    return tenant


def test_staff_drafts_and_submits_and_a_manager_approves(page, shop, chromium, live_server):
    login(page, "tanto@campaign.test", PASSWORD)
    page.goto(page.base + "/campaigns/")
    page.wait_for_selector("#campaigns")
    shot(page, "campaigns_list")
    page.get_by_role("link", name="新しいキャンペーン").click()
    page.wait_for_selector("#campaign-form")
    assert page.evaluate(UNLABELLED_INPUTS) == []
    page.fill("#id_name", "冬タイヤのご案内")
    page.select_option("#id_template", index=1)
    page.fill("#id_scheduled_for", "2030-11-01T10:00")
    page.select_option("#id_allowed_channels", ["email"])
    page.fill("#id_tags", "vip")
    shot(page, "campaign_form")
    page.get_by_role("button", name="保存してプレビュー").click()
    page.wait_for_selector("#audience-size")

    assert page.inner_text("#audience-size") == "12"
    assert "常連" in page.inner_text("#audience") and "一見" not in page.inner_text("#audience")
    shot(page, "campaign_preview")
    page.get_by_role("button", name="送信手続きに回す").click()
    page.wait_for_selector(".alert")
    campaign = Campaign.objects.for_tenant(shop).get()
    assert campaign.status == CampaignStatus.AWAITING_APPROVAL
    assert page.get_by_role("button", name="承認する").count() == 0
    assert page.js_errors == []

    manager = chromium.new_context(viewport={"width": 1280, "height": 800}, locale="ja-JP").new_page()
    manager.base = live_server.url
    login(manager, "kacho@campaign.test", PASSWORD)
    manager.goto(f"{live_server.url}/campaigns/{campaign.pk}/")
    manager.get_by_role("button", name="承認する").click()
    manager.wait_for_selector("#campaign-approval")
    shot(manager, "campaign_approved")
    campaign.refresh_from_db()
    assert (campaign.status, campaign.approved_size) == (CampaignStatus.SCHEDULED, 12)
    manager.context.close()
