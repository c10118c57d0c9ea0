"""Retention KPIs on a hand-built shop: every expected number is written out below, from the
definitions in docs/analytics.md (Retention), on SQLite and PostgreSQL alike."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from analytics.models import CustomerRFM, RetentionMonthly
from analytics.selectors import retention_by_group, retention_series
from analytics.services import retention_refresh
from customers.models import ServiceKind, VehicleStatus
from tests.factories import CustomerFactory, ServiceRecordFactory, TenantFactory, VehicleFactory

AS_OF = date(2026, 3, 15)


def _service(vehicle, day, kind, next_due=None):
    return ServiceRecordFactory(vehicle=vehicle, date=day, kind=kind, next_due=next_due, amount=10_000)


@pytest.fixture
def shop(tenant, staff):
    """C1 renewed early and did its 12-month check; C2 let its 車検 lapse elsewhere; C3's 車検 is due
    this month; C4's car is sold; C5 came back for an oil change within a year."""
    c1 = CustomerFactory(tenant=tenant, acquisition_channel="walk_in", assigned_staff=staff)
    v1 = VehicleFactory(customer=c1, inspection_expiry=date(2027, 1, 20))
    _service(v1, date(2025, 1, 5), ServiceKind.SHAKEN, next_due=date(2027, 1, 20))
    _service(v1, date(2026, 2, 10), ServiceKind.CHECK_12M)
    c2 = CustomerFactory(tenant=tenant, acquisition_channel="website")
    VehicleFactory(customer=c2, inspection_expiry=date(2025, 6, 10))
    c3 = CustomerFactory(tenant=tenant, acquisition_channel="website")
    v3 = VehicleFactory(customer=c3, inspection_expiry=date(2026, 3, 25))
    _service(v3, date(2024, 3, 1), ServiceKind.SHAKEN)  # no next_due: date + 24 months
    c4 = CustomerFactory(tenant=tenant, acquisition_channel="walk_in")
    VehicleFactory(customer=c4, inspection_expiry=date(2025, 5, 1), status=VehicleStatus.SOLD)
    c5 = CustomerFactory(tenant=tenant, acquisition_channel="referral", assigned_staff=staff)
    v5 = VehicleFactory(customer=c5, inspection_expiry=None)
    for day in (date(2025, 4, 10), date(2025, 4, 20), date(2025, 9, 1)):
        _service(v5, day, ServiceKind.OIL_CHANGE)
    CustomerRFM.objects.create(
        tenant=tenant,
        customer=c1,
        as_of=AS_OF,
        computed_at=datetime(2026, 3, 15, tzinfo=ZoneInfo("Asia/Tokyo")),
        segment="loyal",
    )
    # Another shop's lapsed 車検 in the same month must not count here.
    other = TenantFactory(slug="shop-other")
    VehicleFactory(customer=CustomerFactory(tenant=other), inspection_expiry=date(2025, 6, 3))
    return {"c1": c1, "staff": staff}


def _rows(tenant, dimension, key=""):
    return {
        (r.kpi, r.month.strftime("%Y-%m")): (r.eligible, r.retained, r.pending)
        for r in RetentionMonthly.objects.for_tenant(tenant).filter(dimension=dimension, key=key)
    }


def _check(tenant, shop):
    assert _rows(tenant, "all") == {
        ("shaken", "2025-01"): (1, 1, 0),  # C1: expiry 2025-01-20 renewed on 2025-01-05
        ("shaken", "2025-06"): (1, 0, 0),  # C2: lapsed
        ("shaken", "2026-03"): (1, 0, 1),  # C3: 2026-03-01 (record) and -25 (vehicle) are one expiry
        ("check_12m", "2025-03"): (1, 0, 0),  # C3: 12 months before the 2026-03-01 expiry, not done
        ("check_12m", "2026-01"): (1, 1, 0),  # C1: due 2026-01-20, done 2026-02-10 (+21 days)
        ("service_return", "2024-03"): (1, 0, 0),  # C3 never came back
        ("service_return", "2025-01"): (1, 0, 0),  # C1 came back after 401 days: too late
        ("service_return", "2025-04"): (1, 1, 0),  # C5: 2025-04-20 → 2025-09-01
        ("service_return", "2025-09"): (1, 0, 1),  # C5: a year not over yet
        ("service_return", "2026-02"): (1, 0, 1),  # C1
    }
    assert _rows(tenant, "staff", str(shop["staff"].pk)) == {
        ("shaken", "2025-01"): (1, 1, 0),
        ("check_12m", "2026-01"): (1, 1, 0),
        ("service_return", "2025-01"): (1, 0, 0),
        ("service_return", "2025-04"): (1, 1, 0),
        ("service_return", "2025-09"): (1, 0, 1),
        ("service_return", "2026-02"): (1, 0, 1),
    }
    assert _rows(tenant, "channel", "website") == {
        ("shaken", "2025-06"): (1, 0, 0),
        ("shaken", "2026-03"): (1, 0, 1),
        ("check_12m", "2025-03"): (1, 0, 0),
        ("service_return", "2024-03"): (1, 0, 0),
    }
    assert _rows(tenant, "segment", "loyal") == {
        ("shaken", "2025-01"): (1, 1, 0),
        ("check_12m", "2026-01"): (1, 1, 0),
        ("service_return", "2025-01"): (1, 0, 0),
        ("service_return", "2026-02"): (1, 0, 1),
    }
    assert set(_rows(tenant, "channel", "walk_in")) == {
        ("shaken", "2025-01"),
        ("check_12m", "2026-01"),
        ("service_return", "2025-01"),
        ("service_return", "2026-02"),
    }  # C4's sold car is not counted


def test_retention_rows_exact(tenant, shop):
    written = retention_refresh(tenant=tenant, as_of=AS_OF)
    assert written == RetentionMonthly.objects.for_tenant(tenant).count()
    _check(tenant, shop)
    # Refreshing again replaces the rows: the same figures, not twice as many.
    retention_refresh(tenant=tenant, as_of=AS_OF)
    assert RetentionMonthly.objects.for_tenant(tenant).count() == written
    _check(tenant, shop)


@pytest.mark.postgres
def test_retention_rows_exact_postgres(tenant, shop):
    retention_refresh(tenant=tenant, as_of=AS_OF)
    _check(tenant, shop)


def test_retention_series_rates_and_groups(tenant, shop):
    retention_refresh(tenant=tenant, as_of=AS_OF)
    series = retention_series(tenant=tenant, months=24, as_of=AS_OF)
    by_month = {r["month"].strftime("%Y-%m"): r for r in series}
    assert len(series) == 24  # continuous, months without events included
    assert by_month["2025-01"]["shaken"] == {"eligible": 1, "retained": 1, "pending": 0, "rate": 1.0}
    assert by_month["2025-06"]["shaken"]["rate"] == 0.0
    assert by_month["2025-07"]["shaken"] == {"eligible": 0, "retained": 0, "pending": 0, "rate": None}
    # A month still open is reported over the decided cases only: 0 of 0 decided → no rate yet.
    assert by_month["2026-03"]["shaken"] == {"eligible": 1, "retained": 0, "pending": 1, "rate": None}
    groups = retention_by_group(tenant=tenant, dimension="channel", months=24, as_of=AS_OF)
    website = next(g for g in groups if g["key"] == "website")
    assert website["shaken"] == {"eligible": 2, "retained": 0, "pending": 1, "rate": 0.0}
    walk_in = next(g for g in groups if g["key"] == "walk_in")
    assert walk_in["service_return"] == {"eligible": 2, "retained": 0, "pending": 1, "rate": 0.0}
    assert walk_in["label"] == "飛び込み来店"  # the default language is Japanese


def test_kpi_page_shows_retention_with_explanations(viewer_client, manager_client, tenant, shop):
    from django.urls import reverse

    retention_refresh(tenant=tenant, as_of=date.today())
    url = reverse("analytics:section", args=["kpi"])
    response = viewer_client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    names = [t["name"] for t in response.context["tables"]]
    assert names[-5:] == [
        "retention_shaken",
        "retention_check_12m",
        "retention_service_return",
        "retention_by_channel",
        "retention_by_segment",
    ]  # per-staff figures are for managers
    assert "retention_by_staff" in [t["name"] for t in manager_client.get(url).context["tables"]]
    csv = viewer_client.get(url, {"format": "csv", "table": "retention_shaken"})
    assert csv.status_code == 200


def test_kpi_page_other_tenant_sees_none_of_it(other_client, tenant, shop):
    from django.urls import reverse

    retention_refresh(tenant=tenant, as_of=AS_OF)
    response = other_client.get(reverse("analytics:section", args=["kpi"]))
    tables = {t["name"]: t for t in response.context["tables"]}
    assert all(row[1] == 0 for row in tables["retention_shaken"]["rows"])
    assert tables["retention_by_channel"]["rows"] == []
