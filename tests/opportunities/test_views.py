"""The replacement model page under Analytics: what it shows, who sees it, and that another shop's
members see and change only their own shop's model and settings."""

from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.tenancy.rls import tenant_context
from opportunities.models import OpportunitySettings, ReplacementFit

URL = reverse("opportunities_model:index")


@pytest.fixture
def fit(tenant):
    with tenant_context(tenant.pk):
        return ReplacementFit.objects.create(
            tenant=tenant, fitted_at=timezone.now(), as_of=date(2026, 6, 30), method="model", events=412,
            periods=9000, cut_date=date(2025, 12, 29), backtest_method="model", test_vehicles=2000,
            test_events=100, auc=0.8123, hit_listed=40, hit_replaced=13,
            calibration=[{"decile": d, "vehicles": 200, "predicted": d / 100, "observed": d / 100 + 0.01}
                         for d in range(1, 11)],
            hit_by_staff=[{"staff_id": 0, "listed": 40, "replaced": 13}],
        )  # fmt: skip


def test_manager_sees_method_auc_calibration_and_hit_rate(manager_client, fit):
    page = manager_client.get(URL, HTTP_ACCEPT_LANGUAGE="en")
    body = page.content.decode()
    assert page.status_code == 200
    assert "Learned from this shop&#x27;s history" in body
    assert 'data-testid="auc">0.812<' in body
    assert "32.5 % (13 / 40)" in body  # hit rate of the top 20 per staff member
    assert "Calibration: predicted and observed replacements by decile of the score" in body


def test_page_in_japanese(manager_client, fit):
    body = manager_client.get(URL, HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "代替モデル" in body and "較正" in body


def test_analytics_tabs_link_to_it_for_managers_only(manager_client, staff_client):
    assert URL in manager_client.get(reverse("analytics:index")).content.decode()
    assert URL not in staff_client.get(reverse("analytics:index")).content.decode()


def test_staff_cannot_open_it(staff_client, fit):
    assert staff_client.get(URL).status_code == 403


def test_another_shop_sees_only_its_own_model(other_client, fit):
    body = other_client.get(URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "0.812" not in body and "The model has not been fitted yet" in body


def test_settings_saved_for_the_own_shop_only(manager_client, other_client, tenant, other_tenant):
    form = {"replacement_enabled": "on", "replacement_margin": "250,000", "leaving_top_deciles": "2",
            "leaving_segments": ["at_risk", "not-a-segment"]}  # fmt: skip
    assert other_client.post(URL, form).status_code == 302
    with tenant_context(other_tenant.pk):
        theirs = OpportunitySettings.objects.for_tenant(other_tenant).get()
    assert (theirs.replacement_enabled, theirs.replacement_margin, theirs.leaving_top_deciles) == (
        True,
        250_000,
        2,
    )
    assert theirs.leaving_segments == ["at_risk"]
    with tenant_context(tenant.pk):
        assert not OpportunitySettings.objects.for_tenant(tenant).exists()


def test_bad_settings_show_an_error_and_change_nothing(manager_client, tenant):
    manager_client.post(URL, {"replacement_enabled": "auto", "leaving_top_deciles": "3"})
    page = manager_client.post(
        URL, {"replacement_enabled": "on", "replacement_margin": "abc", "leaving_top_deciles": "3"},
        HTTP_ACCEPT_LANGUAGE="en",
    )  # fmt: skip
    assert (
        page.status_code == 200
        and "Enter whole numbers for the margin and the deciles." in page.content.decode()
    )
    page = manager_client.post(URL, {"leaving_top_deciles": "12"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "Choose between 0 and 10 deciles." in page.content.decode()
    with tenant_context(tenant.pk):
        conf = OpportunitySettings.objects.for_tenant(tenant).get()
    assert (conf.replacement_enabled, conf.replacement_margin, conf.leaving_top_deciles) == (None, None, 3)
