"""Campaigns API: draft, preview, submit, approve (owners and managers only), cancel; the hidden rule is
not a reminder rule; another shop's campaigns are 404 and unchanged."""

from __future__ import annotations

import pytest
from django.utils import timezone

from customers.models import CustomerTag, Tag
from reminders.campaigns import services
from reminders.models import Campaign, CampaignSettings, CampaignStatus, ReminderRule
from reminders.services import reminder_defaults_create
from tests.api.conftest import session_client
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(tenant):
    rules = reminder_defaults_create(tenant=tenant)
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
        for i in range(52)
    ]
    CustomerTag.objects.bulk_create([CustomerTag(tenant=tenant, customer=c, tag=tag) for c in people])
    return rules[0].template, people


def _body(template, **changes):
    body = {
        "name": "冬タイヤ",
        "template": template.pk,
        "scheduled_for": "2030-11-01T10:00:00+09:00",
        "audience": {"tags": ["vip"]},
        "allowed_channels": "email,line",
        "holdout_percent": 10,
    }
    body.update(changes)
    return body


def test_staff_drafts_and_reads_a_campaign(staff_api, staff, tenant, shop):
    template, _people = shop
    created = staff_api.post("/api/v1/campaigns/", _body(template), format="json")

    assert created.status_code == 201, created.content
    data = created.json()
    assert {k: data[k] for k in ("name", "status", "audience_size", "audience", "allowed_channels")} == {
        "name": "冬タイヤ",
        "status": "draft",
        "audience_size": 52,
        "audience": {"tags": ["vip"]},
        "allowed_channels": "email,line",
    }
    assert (data["holdout_percent"], data["attribution_days"], data["template"]) == (10, 60, template.pk)
    campaign = Campaign.objects.for_tenant(tenant).get(pk=data["id"])
    assert campaign.created_by == staff and campaign.rule.kind == "campaign"
    assert staff_api.get(f"/api/v1/campaigns/{campaign.pk}/").json()["name"] == "冬タイヤ"
    # the hidden rule is not one of the shop's reminder rules
    listed = {r["id"] for r in staff_api.get("/api/v1/reminder-rules/").json()["results"]}
    assert campaign.rule_id not in listed and len(listed) == 8
    assert staff_api.get(f"/api/v1/reminder-rules/{campaign.rule_id}/").status_code == 404


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"audience": {"tags": ["nobody"]}}, "audience"),
        ({"audience": {"inspection_in_months": [5, 1]}}, "audience"),
        ({"holdout_percent": 80}, "holdout_percent"),
        ({"allowed_channels": "fax"}, "allowed_channels"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_saves_nothing(staff_api, tenant, shop, changes, field):
    template, _people = shop
    response = staff_api.post("/api/v1/campaigns/", _body(template, **changes), format="json")
    assert response.status_code == 400 and field in response.json(), response.content
    assert not Campaign.objects.for_tenant(tenant).exists()


def test_a_key_of_another_shop_cannot_use_our_template(other_api, tenant, shop):
    template, _people = shop
    response = other_api.post("/api/v1/campaigns/", _body(template), format="json")
    assert response.status_code == 400
    assert not Campaign.objects.unscoped().exists()


def test_preview_pages_the_audience_by_fifty(read_api, tenant, shop):
    template, people = shop
    campaign = services.campaign_create(
        tenant=tenant, name="x", audience={"tags": ["vip"]}, scheduled_for=timezone.now(), template=template
    )
    first = read_api.get(f"/api/v1/campaigns/{campaign.pk}/preview/").json()
    second = read_api.get(f"/api/v1/campaigns/{campaign.pk}/preview/", {"page": 2}).json()
    beyond = read_api.get(f"/api/v1/campaigns/{campaign.pk}/preview/", {"page": 9}).json()

    assert (first["audience_size"], first["page"], first["next_page"]) == (52, 1, 2)
    assert len(first["customers"]) == 50
    assert first["customers"][0] == {"id": people[0].pk, "name": "顧客 000"}
    assert [c["id"] for c in second["customers"]] == [people[50].pk, people[51].pk]
    assert second["next_page"] is None
    assert beyond["customers"] == []


def test_only_an_owner_or_manager_approves_and_a_key_never_can(api, staff_api, owner, tenant, shop):
    template, _people = shop
    CampaignSettings.objects.create(tenant=tenant, approval_threshold=10)
    campaign_id = staff_api.post("/api/v1/campaigns/", _body(template), format="json").json()["id"]

    submitted = staff_api.post(f"/api/v1/campaigns/{campaign_id}/submit/")
    assert submitted.status_code == 200 and submitted.json()["status"] == "awaiting"
    assert staff_api.post(f"/api/v1/campaigns/{campaign_id}/approve/").status_code == 403
    assert api.post(f"/api/v1/campaigns/{campaign_id}/approve/").status_code == 403
    assert Campaign.objects.for_tenant(tenant).get(pk=campaign_id).status == CampaignStatus.AWAITING_APPROVAL

    approved = session_client(owner).post(f"/api/v1/campaigns/{campaign_id}/approve/")
    assert approved.status_code == 200
    assert (approved.json()["status"], approved.json()["approved_by"], approved.json()["approved_size"]) == (
        "scheduled",
        owner.pk,
        52,
    )
    again = session_client(owner).post(f"/api/v1/campaigns/{campaign_id}/approve/")
    assert again.status_code == 409


def test_cancel_and_then_nothing_more(staff_api, tenant, shop):
    template, _people = shop
    campaign_id = staff_api.post("/api/v1/campaigns/", _body(template), format="json").json()["id"]
    assert staff_api.post(f"/api/v1/campaigns/{campaign_id}/cancel/").json()["status"] == "cancelled"
    assert staff_api.post(f"/api/v1/campaigns/{campaign_id}/submit/").status_code == 409


def test_viewer_reads_but_cannot_draft(viewer_api, tenant, shop):
    template, _people = shop
    assert viewer_api.post("/api/v1/campaigns/", _body(template), format="json").status_code == 403
    assert viewer_api.get("/api/v1/campaigns/").status_code == 200


def test_another_shops_campaign_is_404_everywhere_and_unchanged(other_api, other_owner_api, tenant, shop):
    template, _people = shop
    campaign = services.campaign_create(
        tenant=tenant,
        name="ours",
        audience={"tags": ["vip"]},
        scheduled_for=timezone.now(),
        template=template,
    )
    for client in (other_api, other_owner_api):
        assert client.get("/api/v1/campaigns/").json()["results"] == []
        assert client.get(f"/api/v1/campaigns/{campaign.pk}/").status_code == 404
        assert client.get(f"/api/v1/campaigns/{campaign.pk}/preview/").status_code == 404
        for action in ("submit", "approve", "cancel"):
            assert client.post(f"/api/v1/campaigns/{campaign.pk}/{action}/").status_code in (403, 404)
    approve = other_owner_api.post(f"/api/v1/campaigns/{campaign.pk}/approve/")
    assert approve.status_code == 404
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT
    assert ReminderRule.objects.for_tenant(tenant).get(pk=campaign.rule_id).is_active
