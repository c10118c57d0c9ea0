"""The weekly list on Today and on its own page: who sees what, who may act, htmx card swaps, and
another shop's users who can neither see nor act on an entry."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customers.models import Consent
from interactions.models import CallTask, Deal, DealStage
from opportunities.models import ScoreMethod, WorklistAction, WorklistEntry, WorklistSettings
from opportunities.worklist import worklist_refresh
from tests.opportunities.scores import leaving, owner_with_car, replacement

pytestmark = pytest.mark.django_db


@pytest.fixture
def lists(tenant, staff, manager):
    """Staff: 森 (model-based replacement) and 林 (leaving); manager: 杉; nobody: 桜 (rule-based)."""
    _mori, car = owner_with_car(
        tenant, staff=staff, family_name="森", consent=Consent.OPTED_IN, consent_at=timezone.now()
    )
    replacement(car, value=300_000, probability=0.38, method=ScoreMethod.MODEL)
    hayashi, _car = owner_with_car(tenant, staff=staff, family_name="林")
    leaving(hayashi, value=90_000)
    _c, car = owner_with_car(tenant, staff=manager, family_name="杉")
    replacement(car, value=80_000)
    _c, car = owner_with_car(tenant, family_name="桜")
    replacement(car, value=70_000, method=ScoreMethod.RULES)
    worklist_refresh(tenant=tenant)
    return {
        e.customer.family_name: e for e in WorklistEntry.objects.for_tenant(tenant).select_related("customer")
    }


def _names(html: str) -> list[str]:
    return [n for n in ("森", "林", "杉", "桜") if f">{n} " in html]


def test_today_shows_the_members_own_top_entries_with_buttons(staff_client, lists):
    html = staff_client.get(reverse("today")).content.decode()

    assert "今週の提案リスト" in html
    assert _names(html) == ["森", "林"]
    assert f'action="{reverse("worklist:action", args=[lists["森"].pk, "deal"])}"' in html
    assert "履歴から学習" in html  # 森's score was learned from the shop's history


def test_the_list_page_of_staff_shows_only_their_entries_and_filters_by_kind(staff_client, lists):
    url = reverse("worklist:index")
    assert _names(staff_client.get(url).content.decode()) == ["森", "林"]
    assert _names(staff_client.get(url, {"kind": "leaving"}).content.decode()) == ["林"]
    # A staff member cannot widen the list to someone else's.
    assert _names(staff_client.get(url, {"staff": "none"}).content.decode()) == ["森", "林"]


def test_managers_see_everyone_the_unassigned_and_filter_by_staff(manager_client, lists, staff):
    url = reverse("worklist:index")
    html = manager_client.get(url).content.decode()
    assert sorted(_names(html)) == ["杉", "林", "桜", "森"]
    assert "ルールに基づく" in html  # 桜's shop has too little history for this score
    assert _names(manager_client.get(url, {"staff": "none"}).content.decode()) == ["桜"]
    assert _names(manager_client.get(url, {"staff": str(staff.pk)}).content.decode()) == ["森", "林"]
    assert "リストの設定" in html and "今すぐ作り直す" in html


def test_a_deal_from_one_click_with_htmx_swaps_the_card(staff_client, lists, tenant):
    entry = lists["森"]

    response = staff_client.post(
        reverse("worklist:action", args=[entry.pk, "deal"]), {"compact": "1"}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith("<li") and f'id="wl-entry-{entry.pk}"' in html
    assert 'data-done="deal"' in html and "提案段階の商談を作成しました" in html
    deal = Deal.objects.for_tenant(tenant).get()
    assert (deal.customer_id, deal.stage, deal.expected_amount) == (
        entry.customer_id,
        DealStage.PROPOSAL,
        789_474,
    )


def test_a_refused_action_shows_why_and_changes_nothing(staff_client, lists, tenant):
    entry = lists["林"]  # no consent to any message channel

    response = staff_client.post(
        reverse("worklist:action", args=[entry.pk, "message"]), HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    assert "電話のタスクを作成してください" in response.content.decode()
    assert WorklistAction.objects.for_tenant(tenant).count() == 0


def test_without_javascript_an_action_redirects_back(staff_client, lists, tenant):
    entry = lists["森"]

    response = staff_client.post(
        reverse("worklist:action", args=[entry.pk, "call_task"]), {"next": reverse("today")}
    )

    assert response.status_code == 302 and response["Location"] == reverse("today")
    assert CallTask.objects.for_tenant(tenant).get().customer_id == entry.customer_id


def test_dismiss_without_a_reason_is_refused(staff_client, lists, tenant):
    entry = lists["森"]

    response = staff_client.post(
        reverse("worklist:action", args=[entry.pk, "dismiss"]), HTTP_HX_REQUEST="true"
    )

    assert "理由を選んでください" in response.content.decode()
    entry.refresh_from_db()
    assert entry.status == "open"


def test_a_viewer_sees_the_list_but_cannot_act(viewer_client, lists, tenant):
    assert viewer_client.get(reverse("worklist:index")).status_code == 200
    response = viewer_client.post(reverse("worklist:action", args=[lists["森"].pk, "deal"]))
    assert response.status_code == 403
    assert Deal.objects.for_tenant(tenant).count() == 0


def test_staff_cannot_act_on_another_members_entry(staff_client, lists, tenant):
    response = staff_client.post(reverse("worklist:action", args=[lists["杉"].pk, "deal"]))
    assert response.status_code == 404
    assert Deal.objects.for_tenant(tenant).count() == 0


def test_only_managers_refresh_and_change_the_settings(staff_client, manager_client, lists, tenant):
    assert staff_client.post(reverse("worklist:refresh")).status_code == 403
    assert (
        staff_client.post(reverse("worklist:settings"), {"per_staff": 5, "dismiss_days": 30}).status_code
        == 403
    )

    response = manager_client.post(reverse("worklist:settings"), {"per_staff": 1, "dismiss_days": 30})
    assert response.status_code == 302
    assert WorklistSettings.objects.for_tenant(tenant).values_list("per_staff", "dismiss_days").get() == (
        1,
        30,
    )
    manager_client.post(reverse("worklist:refresh"))
    assert WorklistEntry.objects.for_tenant(tenant).filter(staff__email="staff@shop-a.test").count() == 1


def test_bad_settings_are_refused_with_a_message(manager_client, tenant):
    response = manager_client.post(
        reverse("worklist:settings"), {"per_staff": 0, "dismiss_days": 30}, follow=True
    )
    assert "この値は 1 以上でなければなりません。" in response.content.decode()
    assert WorklistSettings.objects.for_tenant(tenant).count() == 0


def test_another_shops_user_can_neither_see_nor_act_on_an_entry(other_client, lists, tenant):
    entry = lists["森"]

    html = other_client.get(reverse("worklist:index")).content.decode()
    assert _names(html) == []
    assert _names(other_client.get(reverse("today")).content.decode()) == []
    for action in ("call_task", "deal", "message", "dismiss"):
        response = other_client.post(
            reverse("worklist:action", args=[entry.pk, action]), {"reason": "not_interested"}
        )
        assert response.status_code == 404, action
    assert WorklistAction.objects.for_tenant(tenant).count() == 0
    entry.refresh_from_db()
    assert entry.status == "open"


def test_english_readers_get_english(staff_client, lists):
    staff_client.cookies["django_language"] = "en"
    html = staff_client.get(reverse("worklist:index"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<h1 class="h4 mb-0">This week\'s list <small' in html
    assert "Learned from your history" in html


def _queries(client, url) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def _more_entries(tenant, staff, n):
    for i in range(n):
        _c, car = owner_with_car(tenant, staff=staff, family_name="多田", given_name=f"{i}")
        replacement(car, value=1_000 + i)
    worklist_refresh(tenant=tenant)


@pytest.mark.parametrize("name", ["worklist:index", "today"])
def test_the_list_costs_the_same_queries_for_few_or_many_entries(manager_client, lists, tenant, staff, name):
    few = _queries(manager_client, reverse(name))
    _more_entries(tenant, staff, 25)
    # 森, 林 and 25 more of staff's capped at 20, and 杉 and 桜.
    assert WorklistEntry.objects.for_tenant(tenant).count() == 22
    assert _queries(manager_client, reverse(name)) == few
