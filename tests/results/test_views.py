"""The Results pages: list, one rule, CSV of every table, refresh on demand, and tenancy."""

from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone

from results.models import FunnelMonthly
from results.services import results_refresh
from tests.factories import CustomerFactory, ServiceRecordFactory, VehicleFactory
from tests.results.helpers import make_reminder, make_rule


@pytest.fixture
def shop(tenant):
    rule = make_rule(tenant, name="車検のご案内", holdout=10)
    due = timezone.localdate().replace(day=1)
    for i in range(4):
        customer = CustomerFactory(tenant=tenant)
        make_reminder(rule, customer, due, status="held_out" if i == 3 else "sent")
        if i % 2 == 0:
            ServiceRecordFactory(vehicle=VehicleFactory(customer=customer), date=due, amount=10_000)
    results_refresh(tenant=tenant)
    return rule


def test_list_shows_rule_and_plain_words(viewer_client, shop):
    response = viewer_client.get(reverse("results:index"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    page = response.content.decode()
    assert "車検のご案内" in page
    assert reverse("results:detail", args=[shop.pk]) in page
    # 2 of 3 reminded came, 0 of 1 held out: about 67 more per 100, a wide interval.
    assert "Reminders brought back about 67 more customers per 100" in page
    assert "Recompute now" not in page  # viewers cannot refresh


def test_detail_page_tables_and_csv(viewer_client, shop):
    url = reverse("results:detail", args=[shop.pk])
    response = viewer_client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-chart="chart-funnel"' in page
    assert "リマインドで100人あたり約67人多く来店しました" in page  # Japanese by default
    csv = viewer_client.get(url, {"format": "csv", "table": "funnel"})
    assert csv["Content-Type"].startswith("text/csv")
    body = b"".join(csv.streaming_content).decode("utf-8-sig").splitlines()
    assert body[1:3] == ["送信予定,3,100.0", "送信済み,3,100.0"]
    for name in ("treated_vs_held_out", "trend", "by_step", "by_channel"):
        assert viewer_client.get(url, {"format": "csv", "table": name}).status_code == 200
    assert viewer_client.get(url, {"format": "csv", "table": "nope"}).status_code == 404


def test_list_csv_is_formula_safe(viewer_client, tenant):
    make_rule(tenant, name="=HYPERLINK(1)", holdout=0)
    results_refresh(tenant=tenant)
    csv = viewer_client.get(reverse("results:index"), {"format": "csv", "table": "rules"})
    body = b"".join(csv.streaming_content).decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in body
    assert "=HYPERLINK(1)," not in body.replace("'=HYPERLINK(1)", "")


def test_refresh_on_demand_for_managers_only(manager_client, viewer_client, tenant, shop):
    FunnelMonthly.objects.for_tenant(tenant).delete()
    assert viewer_client.post(reverse("results:refresh")).status_code == 403
    assert not FunnelMonthly.objects.for_tenant(tenant).exists()
    response = manager_client.post(reverse("results:refresh"))
    assert response.status_code == 302
    assert FunnelMonthly.objects.for_tenant(tenant).count() == 1


def test_other_tenant_cannot_see_rule(other_client, shop):
    assert other_client.get(reverse("results:detail", args=[shop.pk])).status_code == 404
    assert (
        other_client.get(
            reverse("results:detail", args=[shop.pk]), {"format": "csv", "table": "funnel"}
        ).status_code
        == 404
    )
    page = other_client.get(reverse("results:index")).content.decode()
    assert "車検のご案内" not in page


def test_booking_message_rule_has_no_results_page(viewer_client, tenant):
    confirm = make_rule(tenant, name="予約確認", kind="booking_confirmation", holdout=0)
    make_reminder(confirm, CustomerFactory(tenant=tenant), date(2026, 1, 5))
    assert viewer_client.get(reverse("results:detail", args=[confirm.pk])).status_code == 404
