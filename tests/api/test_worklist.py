"""The weekly list's API: this week's entries (keys see the shop, a staff login its own), the actions
as POSTs, conflicts on a second click, and another shop that can neither read nor act."""

from __future__ import annotations

import pytest
from django.utils import timezone

from customers.models import Consent
from interactions.models import CallTask, Deal, DealStage
from opportunities.models import WorklistAction, WorklistEntry
from opportunities.worklist import worklist_refresh
from reminders.models import Reminder
from tests.opportunities.scores import leaving, owner_with_car, replacement

pytestmark = pytest.mark.django_db


@pytest.fixture
def entries(tenant, staff, manager):
    _mori, car = owner_with_car(
        tenant, staff=staff, family_name="森", consent=Consent.OPTED_IN, consent_at=timezone.now()
    )
    replacement(car, value=300_000, probability=0.5)
    hayashi, _car = owner_with_car(tenant, staff=manager, family_name="林")
    leaving(hayashi, value=90_000)
    worklist_refresh(tenant=tenant)
    return {
        e.customer.family_name: e for e in WorklistEntry.objects.for_tenant(tenant).select_related("customer")
    }


def _names(response):
    assert response.status_code == 200, response.content[:300]
    return sorted(row["customer_name"].split()[0] for row in response.json()["results"])


def test_a_key_lists_the_whole_shops_week_and_filters(api, entries, staff):
    assert _names(api.get("/api/v1/worklist/")) == ["林", "森"]
    assert _names(api.get("/api/v1/worklist/", {"kind": "leaving"})) == ["林"]
    assert _names(api.get("/api/v1/worklist/", {"staff": staff.pk})) == ["森"]
    assert _names(api.get("/api/v1/worklist/", {"week": "2020-01-06"})) == []
    row = api.get(f"/api/v1/worklist/{entries['森'].pk}/").json()
    assert (row["kind"], row["expected_value"], row["expected_margin"], row["method"]) == (
        "replacement",
        300_000,
        600_000,
        "model",
    )
    assert row["actions_done"] == []


def test_a_bad_week_is_a_clear_400(api, entries):
    response = api.get("/api/v1/worklist/", {"week": "next monday"})
    assert response.status_code == 400
    assert "week" in response.json()


def test_a_staff_login_sees_only_their_own_entries(staff_api, entries):
    assert _names(staff_api.get("/api/v1/worklist/")) == ["森"]
    assert staff_api.get(f"/api/v1/worklist/{entries['林'].pk}/").status_code == 404
    assert staff_api.post(f"/api/v1/worklist/{entries['林'].pk}/deal/").status_code == 404


def test_a_deal_through_the_api_is_created_once(api, entries, tenant):
    entry = entries["森"]

    response = api.post(f"/api/v1/worklist/{entry.pk}/deal/")

    assert response.status_code == 201, response.content
    deal = Deal.objects.for_tenant(tenant).get()
    assert response.json()["object_id"] == deal.pk
    assert response.json()["entry"]["actions_done"] == ["deal"]
    assert (deal.stage, deal.expected_amount, deal.vehicle_id) == (
        DealStage.PROPOSAL,
        600_000,
        entry.vehicle_id,
    )
    assert WorklistAction.objects.for_tenant(tenant).get().by_id is None  # a key is nobody in particular
    again = api.post(f"/api/v1/worklist/{entry.pk}/deal/")
    assert again.status_code == 409
    assert Deal.objects.for_tenant(tenant).count() == 1


def test_call_task_message_and_dismiss(api, entries, tenant, staff):
    entry = entries["森"]

    assert api.post(f"/api/v1/worklist/{entry.pk}/call-task/").status_code == 201
    assert CallTask.objects.for_tenant(tenant).get().assigned_to_id == staff.pk
    message = api.post(f"/api/v1/worklist/{entry.pk}/message/")
    assert message.status_code == 201
    assert Reminder.objects.for_tenant(tenant).get().pk == message.json()["object_id"]
    refused = api.post(f"/api/v1/worklist/{entries['林'].pk}/message/")  # no consent: a clear 400
    assert refused.status_code == 400 and "detail" in refused.json()
    bad = api.post(f"/api/v1/worklist/{entry.pk}/dismiss/", {"reason": "maybe"}, format="json")
    assert bad.status_code == 400
    done = api.post(
        f"/api/v1/worklist/{entry.pk}/dismiss/", {"reason": "in_contact", "note": "来週来店"}, format="json"
    )
    assert done.status_code == 201
    assert done.json()["entry"]["status"] == "dismissed"
    assert _names(api.get("/api/v1/worklist/")) == ["林"]


def test_a_read_key_and_a_viewer_cannot_act(read_api, viewer_api, entries, tenant):
    for client in (read_api, viewer_api):
        assert client.get("/api/v1/worklist/").status_code == 200
        assert client.post(f"/api/v1/worklist/{entries['森'].pk}/deal/").status_code == 403
    assert Deal.objects.for_tenant(tenant).count() == 0


def test_another_shop_can_neither_read_nor_act(other_api, other_owner_api, entries, tenant):
    entry = entries["森"]
    for client in (other_api, other_owner_api):
        assert client.get("/api/v1/worklist/").json()["results"] == []
        assert client.get(f"/api/v1/worklist/{entry.pk}/").status_code == 404
        for path in ("call-task", "deal", "message"):
            assert client.post(f"/api/v1/worklist/{entry.pk}/{path}/").status_code == 404, path
        response = client.post(
            f"/api/v1/worklist/{entry.pk}/dismiss/", {"reason": "other", "note": "x"}, format="json"
        )
        assert response.status_code == 404
    assert WorklistAction.objects.for_tenant(tenant).count() == 0
    assert Deal.objects.for_tenant(tenant).count() == 0


def test_the_schema_lists_the_worklist_and_its_actions(api):
    paths = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    for path in (
        "/api/v1/worklist/",
        "/api/v1/worklist/{id}/",
        "/api/v1/worklist/{id}/call-task/",
        "/api/v1/worklist/{id}/deal/",
        "/api/v1/worklist/{id}/message/",
        "/api/v1/worklist/{id}/dismiss/",
    ):
        assert path in paths, path
