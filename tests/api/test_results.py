"""API: retention KPIs, results list and one rule's results; read-only, tenant from the key, in the schema."""

from datetime import date

import pytest
from django.utils import timezone

from analytics.services import retention_refresh
from customers.models import ServiceKind
from results.selectors import FUNNEL_FIELDS
from results.services import results_refresh
from tests.factories import CustomerFactory, ServiceRecordFactory, VehicleFactory
from tests.results.helpers import make_reminder, make_rule


@pytest.fixture
def shop(tenant, staff):
    rule = make_rule(tenant, name="車検のご案内", holdout=10)
    due = timezone.localdate().replace(day=1)
    for i in range(4):
        customer = CustomerFactory(tenant=tenant, acquisition_channel="website", assigned_staff=staff)
        make_reminder(rule, customer, due, status="held_out" if i == 3 else "sent")
        if i % 2 == 0:
            ServiceRecordFactory(vehicle=VehicleFactory(customer=customer), date=due, amount=10_000)
    car = VehicleFactory(customer=CustomerFactory(tenant=tenant, acquisition_channel="website"),
                         inspection_expiry=date(2025, 6, 10))  # fmt: skip
    ServiceRecordFactory(
        vehicle=car, date=date(2025, 6, 1), kind=ServiceKind.SHAKEN, next_due=date(2027, 6, 10)
    )
    retention_refresh(tenant=tenant)
    results_refresh(tenant=tenant)
    return rule


def test_results_list(read_api, shop):
    response = read_api.get("/api/v1/results/")
    assert response.status_code == 200
    (row,) = response.json()["rules"]
    assert row["rule"] == shop.pk
    assert row["funnel"]["planned"] == 3 and row["funnel"]["visited"] == 2
    uplift = row["uplift"]
    assert uplift["treated"] == {"customers": 3, "visited": 2, "visit_rate": 0.6667, "revenue": 20_000,
                                 "revenue_per_customer": 6666.7}  # fmt: skip
    assert uplift["held_out"]["customers"] == 1 and uplift["held_out"]["visited"] == 0
    assert uplift["visit_rate_difference"]["estimate"] == 0.6667
    assert uplift["summary"]["ja"].startswith("リマインドで100人あたり約67人多く来店しました")


def test_results_detail_and_other_tenant(read_api, other_api, shop):
    response = read_api.get(f"/api/v1/results/{shop.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert [s["step"] for s in body["by_step"]] == [1]
    assert body["by_channel"] == [{"channel": "email", "planned": 3, "sent": 3, "opened": 0, "clicked": 0,
                                   "booked": 0, "visited": 2, "revenue": 20_000}]  # fmt: skip
    assert len(body["months"]) == 12
    assert other_api.get(f"/api/v1/results/{shop.pk}/").status_code == 404
    assert other_api.get("/api/v1/results/").json()["rules"] == []
    assert read_api.get("/api/v1/results/abc/").status_code == 404


def test_results_read_only(api, shop):
    assert api.post("/api/v1/results/", {}).status_code == 405
    assert api.delete(f"/api/v1/results/{shop.pk}/").status_code == 405


def test_retention_api(read_api, other_api, manager_client, shop):
    response = read_api.get("/api/v1/analytics/retention/", {"months": 36})
    assert response.status_code == 200
    months = {m["month"]: m for m in response.json()["months"]}
    assert months["2025-06-01"]["shaken"] == {"eligible": 1, "retained": 1, "pending": 0, "rate": 1.0}
    channels = read_api.get("/api/v1/analytics/retention/", {"dimension": "channel", "months": 36}).json()
    website = next(g for g in channels["groups"] if g["key"] == "website")
    assert website["shaken"]["eligible"] == 1
    # Per staff member is for managers; a key acts as viewer or staff.
    assert read_api.get("/api/v1/analytics/retention/", {"dimension": "staff"}).status_code == 403
    assert manager_client.get("/api/v1/analytics/retention/", {"dimension": "staff"}).status_code == 200
    assert read_api.get("/api/v1/analytics/retention/", {"dimension": "nope"}).status_code == 400
    other = other_api.get("/api/v1/analytics/retention/", {"months": 36}).json()
    assert all(m["shaken"]["eligible"] == 0 for m in other["months"])


def test_in_openapi_schema(read_api):
    schema = read_api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for path in ("/api/v1/results/", "/api/v1/results/{rule_id}/", "/api/v1/analytics/retention/"):
        assert path in schema["paths"], path


def test_results_answers_are_typed_in_the_schema(read_api, shop):
    """The results endpoints document their answers field by field, and answer in exactly those fields."""
    schema = read_api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    components = schema["components"]["schemas"]

    def ref(path):
        content = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
        return components[content["schema"]["$ref"].rsplit("/", 1)[1]]

    listed, detail = ref("/api/v1/results/"), ref("/api/v1/results/{rule_id}/")
    assert set(components["Funnel"]["properties"]) == set(FUNNEL_FIELDS)
    assert components["Group"]["properties"]["visit_rate"] == {
        "type": "number",
        "format": "double",
        "nullable": True,
    }
    body = read_api.get("/api/v1/results/").json()
    assert set(body) == set(listed["properties"])
    assert set(body["rules"][0]) == set(components["RuleResult"]["properties"])
    assert set(body["rules"][0]["uplift"]) == set(components["Uplift"]["properties"])
    one = read_api.get(f"/api/v1/results/{shop.pk}/").json()
    assert set(one) == set(detail["properties"])
    assert set(one["months"][0]) == set(components["MonthResult"]["properties"])
    assert set(one["by_step"][0]) == {"step", *FUNNEL_FIELDS}
