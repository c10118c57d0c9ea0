"""Every endpoint that takes an id: another tenant's key or owner gets 404 and changes nothing.

Lists never show another tenant's rows, and a write cannot point a foreign key at another tenant's row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from crm.models import Membership
from customers.models import Customer, Household, Purchase, ServiceRecord, Vehicle
from interactions.models import CallTask, Deal, Interaction
from tests.factories import (
    CallTaskFactory,
    CustomerFactory,
    DealFactory,
    HouseholdFactory,
    InteractionFactory,
    PurchaseFactory,
    ServiceRecordFactory,
    VehicleFactory,
)

pytestmark = pytest.mark.django_db


@dataclass
class Resource:
    path: str
    model: type
    make: Callable[[Any], Any]  # tenant -> a row of that tenant
    patch: dict  # a valid partial update


RESOURCES = {
    "customers": Resource("customers", Customer, lambda t: CustomerFactory(tenant=t), {"notes": "更新"}),
    "households": Resource("households", Household, lambda t: HouseholdFactory(tenant=t), {"name": "新家"}),
    "vehicles": Resource(
        "vehicles", Vehicle, lambda t: VehicleFactory(customer=CustomerFactory(tenant=t)), {"mileage": 12000}
    ),
    "purchases": Resource(
        "purchases", Purchase, lambda t: PurchaseFactory(customer=CustomerFactory(tenant=t)), {"amount": 1}
    ),
    "service-records": Resource(
        "service-records",
        ServiceRecord,
        lambda t: ServiceRecordFactory(vehicle=VehicleFactory(customer=CustomerFactory(tenant=t))),
        {"notes": "更新"},
    ),
    "interactions": Resource(
        "interactions",
        Interaction,
        lambda t: InteractionFactory(customer=CustomerFactory(tenant=t)),
        {"summary": "更新"},
    ),
    "deals": Resource(
        "deals", Deal, lambda t: DealFactory(customer=CustomerFactory(tenant=t)), {"title": "x"}
    ),
    "call-tasks": Resource(
        "call-tasks", CallTask, lambda t: CallTaskFactory(customer=CustomerFactory(tenant=t)), {"reason": "x"}
    ),
}


@pytest.fixture(params=["key", "session"])
def intruder(request, other_tenant, other_owner):
    """A write-capable client of the other tenant: by API key, or an owner's session."""
    return request.getfixturevalue("other_api" if request.param == "key" else "other_owner_api")


def _snapshot(model, pk):
    return model.objects.unscoped().filter(pk=pk).values().get()  # test-only cross-tenant read


@pytest.mark.parametrize("name", RESOURCES)
def test_other_tenant_gets_404_for_read_update_and_delete(name, tenant, intruder):
    res = RESOURCES[name]
    row = res.make(tenant)
    before = _snapshot(res.model, row.pk)
    url = f"/api/v1/{res.path}/{row.pk}/"

    assert intruder.get(url).status_code == 404
    assert intruder.patch(url, res.patch, format="json").status_code == 404
    assert intruder.put(url, res.patch, format="json").status_code == 404
    assert intruder.delete(url).status_code == 404
    assert _snapshot(res.model, row.pk) == before


@pytest.mark.parametrize("name", RESOURCES)
def test_list_and_export_never_show_other_tenants_rows(name, tenant, other_tenant, api, other_api):
    res = RESOURCES[name]
    mine = res.make(tenant)
    theirs = res.make(other_tenant)

    listed = api.get(f"/api/v1/{res.path}/").json()["results"]
    exported = b"".join(api.get(f"/api/v1/{res.path}/export/").streaming_content).decode("utf-8-sig")

    assert [r["id"] for r in listed] == [mine.pk]
    assert [line.split(",")[0] for line in exported.splitlines()[1:]] == [str(mine.pk)]
    assert [r["id"] for r in other_api.get(f"/api/v1/{res.path}/").json()["results"]] == [theirs.pk]


def test_by_ref_of_other_tenant_is_404_and_put_creates_our_own(tenant, other_tenant, api):
    theirs = CustomerFactory(tenant=other_tenant, external_ref="SHARED-1", family_name="他店")

    assert api.get("/api/v1/customers/by-ref/SHARED-1/").status_code == 404
    created = api.put("/api/v1/customers/by-ref/SHARED-1/", {"family_name": "自店"}, format="json")

    assert created.status_code == 201
    assert Customer.objects.for_tenant(tenant).get(external_ref="SHARED-1").family_name == "自店"
    assert _snapshot(Customer, theirs.pk)["family_name"] == "他店"


def test_members_of_other_tenant_are_404(tenant, owner, staff, other_owner_api):
    membership = Membership.objects.for_tenant(tenant).get(user=staff)
    url = f"/api/v1/members/{membership.pk}/"

    assert other_owner_api.get(url).status_code == 404
    assert other_owner_api.patch(url, {"role": "owner"}, format="json").status_code == 404
    assert Membership.objects.for_tenant(tenant).get(user=staff).role == "staff"


def test_call_task_complete_of_other_tenant_is_404(tenant, intruder):
    task = CallTaskFactory(customer=CustomerFactory(tenant=tenant))

    assert intruder.post(f"/api/v1/call-tasks/{task.pk}/complete/", {}, format="json").status_code == 404
    assert CallTask.objects.for_tenant(tenant).get(pk=task.pk).status == "open"


# --- foreign keys cannot point into another tenant ---------------------------------------------------
def _other_rows(other_tenant, other_owner):
    customer = CustomerFactory(tenant=other_tenant, external_ref="B-CUST")
    vehicle = VehicleFactory(customer=customer, external_ref="B-VEH")
    household = HouseholdFactory(tenant=other_tenant)
    return {"customer": customer, "vehicle": vehicle, "household": household, "user": other_owner}


FOREIGN_KEY_WRITES = [
    ("customers", lambda mine, b: {"family_name": "x", "household": b["household"].pk}, "household"),
    ("customers", lambda mine, b: {"family_name": "x", "assigned_staff": b["user"].pk}, "assigned_staff"),
    ("vehicles", lambda mine, b: {"customer": b["customer"].pk, "maker": "a", "model_name": "b"}, "customer"),
    (
        "vehicles",
        lambda mine, b: {"customer_external_ref": "B-CUST", "maker": "a", "model_name": "b"},
        "customer_external_ref",
    ),
    (
        "purchases",
        lambda mine, b: {
            "customer": mine.pk,
            "vehicle": b["vehicle"].pk,
            "date": "2025-01-01",
            "category": "parts",
            "amount": 1,
        },
        "vehicle",
    ),
    (
        "purchases",
        lambda mine, b: {
            "customer": b["customer"].pk,
            "date": "2025-01-01",
            "category": "parts",
            "amount": 1,
        },
        "customer",
    ),
    (
        "service-records",
        lambda mine, b: {"vehicle_external_ref": "B-VEH", "date": "2025-01-01", "kind": "repair"},
        "vehicle_external_ref",
    ),
    (
        "interactions",
        lambda mine, b: {"customer": b["customer"].pk, "channel": "phone", "summary": "x"},
        "customer",
    ),
    (
        "interactions",
        lambda mine, b: {"customer": mine.pk, "staff": b["user"].pk, "channel": "phone", "summary": "x"},
        "staff",
    ),
    ("deals", lambda mine, b: {"customer": mine.pk, "vehicle": b["vehicle"].pk, "title": "x"}, "vehicle"),
    ("deals", lambda mine, b: {"customer": mine.pk, "owner": b["user"].pk, "title": "x"}, "owner"),
    (
        "call-tasks",
        lambda mine, b: {"customer": b["customer"].pk, "due_date": "2025-01-01", "reason": "x"},
        "customer",
    ),
]


@pytest.mark.parametrize(("path", "payload", "field"), FOREIGN_KEY_WRITES)
def test_foreign_key_to_other_tenant_is_400(path, payload, field, tenant, other_tenant, other_owner, api):
    mine = CustomerFactory(tenant=tenant)
    theirs = _other_rows(other_tenant, other_owner)
    model = {r.path: r.model for r in RESOURCES.values()}[path]
    count_before = model.objects.unscoped().count()

    response = api.post(f"/api/v1/{path}/", payload(mine, theirs), format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert model.objects.unscoped().count() == count_before


def test_update_cannot_move_a_vehicle_to_other_tenants_customer(tenant, other_tenant, other_owner, api):
    vehicle = VehicleFactory(customer=CustomerFactory(tenant=tenant))
    theirs = _other_rows(other_tenant, other_owner)

    response = api.patch(
        f"/api/v1/vehicles/{vehicle.pk}/", {"customer": theirs["customer"].pk}, format="json"
    )

    assert response.status_code == 400
    assert Vehicle.objects.for_tenant(tenant).get(pk=vehicle.pk).customer_id == vehicle.customer_id
