"""Campaign pages: who may read, draft, approve; audience preview; another shop's campaign is a 404."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import CustomerTag, Tag
from reminders.campaigns import services
from reminders.models import Campaign, CampaignSettings, CampaignStatus
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

SEND_AT = datetime(2030, 6, 1, 1, 0, tzinfo=UTC)


@pytest.fixture
def vips(tenant):
    tag = Tag.objects.create(tenant=tenant, name="vip")
    people = [
        CustomerFactory(
            tenant=tenant,
            family_name="顧客",
            given_name=f"{i:03d}",
            family_name_kana="コキャク",
            given_name_kana=f"{i:03d}",
            consent="opted_in",
            consent_at=timezone.now(),
        )
        for i in range(55)
    ]
    CustomerTag.objects.bulk_create([CustomerTag(tenant=tenant, customer=c, tag=tag) for c in people])
    return people


@pytest.fixture
def campaign(tenant, rules, vips):
    return services.campaign_create(
        tenant=tenant,
        name="冬タイヤ",
        audience={"tags": ["vip"]},
        scheduled_for=SEND_AT,
        template=rules["seasonal"].template,
        holdout_percent=10,
    )


def _post(rules, **changes):
    data = {
        "name": "春の点検",
        "template": rules["seasonal"].template_id,
        "scheduled_for": "2030-04-01T10:00",
        "allowed_channels": ["email", "line"],
        "holdout_percent": 10,
        "attribution_days": 60,
        "segment": "",
        "tags": "vip",
        "inspection_from": "",
        "inspection_to": "",
        "last_visit_before": "",
    }
    data.update(changes)
    return data


@pytest.mark.parametrize("name", ["campaigns:list"])
def test_every_member_can_read_the_list(viewer_client, campaign, name):
    page = viewer_client.get(reverse(name))
    assert page.status_code == 200 and "冬タイヤ" in page.content.decode()


def test_the_nav_links_to_campaigns(viewer_client, campaign):
    assert reverse("campaigns:list") in viewer_client.get(reverse("reminders:index")).content.decode()


def test_staff_drafts_a_campaign_with_the_audience_builder(staff_client, staff, tenant, rules, vips):
    response = staff_client.post(reverse("campaigns:create"), _post(rules))

    campaign = Campaign.objects.for_tenant(tenant).get(name="春の点検")
    assert response.status_code == 302 and response["Location"] == reverse(
        "campaigns:detail", args=[campaign.pk]
    )
    assert (campaign.status, campaign.audience, campaign.audience_size, campaign.created_by) == (
        CampaignStatus.DRAFT,
        {"tags": ["vip"]},
        55,
        staff,
    )
    detail = staff_client.get(response["Location"]).content.decode()
    assert "メール, LINE" in detail
    assert (campaign.rule.allowed_channels, campaign.rule.holdout_percent, campaign.rule.kind) == (
        "email,line",
        10,
        "campaign",
    )
    assert campaign.scheduled_for == datetime(2030, 4, 1, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo


def test_bad_audience_input_shows_the_reason_and_saves_nothing(staff_client, tenant, rules, vips):
    response = staff_client.post(reverse("campaigns:create"), _post(rules, tags="nobody", inspection_from=2))

    assert response.status_code == 200
    html = response.content.decode()
    # the dashboard speaks Japanese by default
    assert "開始と終了の両方を入力するか、両方とも空にしてください。" in html
    response = staff_client.post(reverse("campaigns:create"), _post(rules, tags="nobody"))
    assert "不明なタグ：nobody" in response.content.decode()
    assert not Campaign.objects.for_tenant(tenant).exists()


def test_viewer_cannot_draft_or_open_the_form(viewer_client, tenant, rules, campaign):
    assert viewer_client.get(reverse("campaigns:create")).status_code == 403
    assert viewer_client.post(reverse("campaigns:create"), _post(rules)).status_code == 403
    assert viewer_client.post(reverse("campaigns:submit", args=[campaign.pk])).status_code == 403
    assert viewer_client.post(reverse("campaigns:cancel", args=[campaign.pk])).status_code == 403
    assert Campaign.objects.for_tenant(tenant).get(pk=campaign.pk).status == CampaignStatus.DRAFT


def test_the_preview_shows_the_size_and_fifty_customers_a_page(viewer_client, campaign, vips):
    first = viewer_client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    second = viewer_client.get(reverse("campaigns:detail", args=[campaign.pk]), {"page": 2}).content.decode()

    assert '<span class="fs-4 fw-semibold" id="audience-size">55</span>' in first
    assert "すべてのチャネル" in first and "対照群" in first and "10 %" in first
    assert "顧客 000" in first and "顧客 049" in first and "顧客 050" not in first
    assert "顧客 050" in second and "顧客 054" in second and "顧客 049" not in second


def test_staff_submits_a_large_campaign_and_only_a_manager_can_approve_it(
    staff_client, manager_client, manager, tenant, campaign
):
    CampaignSettings.objects.create(tenant=tenant, approval_threshold=50)

    assert staff_client.post(reverse("campaigns:submit", args=[campaign.pk])).status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.AWAITING_APPROVAL
    assert (
        "承認する" not in staff_client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    )
    assert staff_client.post(reverse("campaigns:approve", args=[campaign.pk])).status_code == 403
    campaign.refresh_from_db()
    assert campaign.approved_by is None

    assert manager_client.post(reverse("campaigns:approve", args=[campaign.pk])).status_code == 302
    campaign.refresh_from_db()
    assert (campaign.status, campaign.approved_by, campaign.approved_size) == (
        CampaignStatus.SCHEDULED,
        manager,
        55,
    )
    page = manager_client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert 'id="campaign-approval"' in page and "55人分" in page and "承認する" not in page


def test_staff_cancels_before_launch(staff_client, tenant, campaign):
    assert staff_client.post(reverse("campaigns:cancel", args=[campaign.pk])).status_code == 302
    assert Campaign.objects.for_tenant(tenant).get(pk=campaign.pk).status == CampaignStatus.CANCELLED


def test_editing_a_scheduled_campaign_makes_it_a_draft(staff_client, tenant, rules, campaign):
    services.campaign_submit(tenant=tenant, campaign=campaign)
    response = staff_client.post(reverse("campaigns:edit", args=[campaign.pk]), _post(rules, name="改名"))
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.name, campaign.status) == ("改名", CampaignStatus.DRAFT)


def test_only_a_manager_changes_the_threshold(staff_client, manager_client, tenant):
    assert staff_client.post(reverse("campaigns:settings"), {"approval_threshold": 5}).status_code == 403
    assert not CampaignSettings.objects.for_tenant(tenant).exists()
    assert manager_client.post(reverse("campaigns:settings"), {"approval_threshold": 5}).status_code == 302
    assert CampaignSettings.objects.for_tenant(tenant).get().approval_threshold == 5


def test_another_shops_campaign_is_404_on_every_page_and_unchanged(other_client, tenant, rules, campaign):
    for name in ("campaigns:detail", "campaigns:edit"):
        assert other_client.get(reverse(name, args=[campaign.pk])).status_code == 404
    for name in ("campaigns:submit", "campaigns:approve", "campaigns:cancel", "campaigns:edit"):
        assert other_client.post(reverse(name, args=[campaign.pk]), _post(rules)).status_code == 404
    assert "冬タイヤ" not in other_client.get(reverse("campaigns:list")).content.decode()
    campaign.refresh_from_db()
    assert (campaign.status, campaign.name) == (CampaignStatus.DRAFT, "冬タイヤ")
