"""The Results pages and the retention KPIs in real Chromium, on a demo shop with its simulated year:
charts drawn, plain words shown, no CSP violation or script error (marked `browser`)."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from crm.models import Tenant
from reminders.models import ReminderRule
from tests.browser.conftest import login, shot
from tests.conftest import PASSWORD
from tests.factories import MembershipFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DRAWN = "cs => cs.filter(c => c.width > 0).length"


@pytest.fixture
def demo_shop(transactional_db):
    call_command("seed_demo", tenant="results-shop", customers=150, years=3, verbosity=0)
    tenant = Tenant.objects.get(slug="results-shop")
    owner = UserFactory(email="results-owner@kizuna.test", password=PASSWORD, display_name="成果 店長")
    MembershipFactory(tenant=tenant, user=owner, role="owner")
    return tenant


def test_results_list_and_rule_page(page, demo_shop):
    login(page, "results-owner@kizuna.test", PASSWORD)
    page.goto(page.base + "/results/")
    page.wait_for_selector("h1")
    assert page.inner_text("h1") == "成果"
    assert "車検のご案内" in page.inner_text("main") if page.query_selector("main") else page.content()
    shot(page, "results_list")
    rule = ReminderRule.objects.for_tenant(demo_shop).get(kind="inspection")
    page.click(f"a[href='/results/{rule.pk}/']")
    page.wait_for_selector("[data-testid=plain-words]")
    words = page.inner_text("[data-testid=plain-words]")
    assert "100人あたり" in words or "対照群" in words
    page.wait_for_load_state("networkidle")
    assert page.eval_on_selector_all("canvas[data-chart]", DRAWN) >= 2  # funnel and trend charts
    shot(page, "results_rule")
    page.goto(page.base + "/analytics/kpi/")
    page.wait_for_selector("#title-retention_shaken")
    page.wait_for_load_state("networkidle")
    assert page.eval_on_selector_all("canvas[data-chart]", DRAWN) >= 5
    shot(page, "analytics_kpi_retention")
    assert page.js_errors == []
    assert page.csp_violations == []
