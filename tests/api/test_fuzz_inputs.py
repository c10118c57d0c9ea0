"""Hypothesis fuzzing of the API's write endpoints, query strings and by-ref paths.

Random JSON bodies (the serializer's own field names with hostile values: NUL characters, huge
numbers, non-finite floats, nested structures, other tenants' ids) and random raw bodies go to every
main write endpoint; random values go to the list filters and the `by-ref/<ref>/` paths. Every
answer is 2xx or 4xx — never a 500 — and no write ever lands in, or points at, another tenant.
Each example runs in a savepoint that is rolled back.
"""

from __future__ import annotations

import json
from urllib.parse import quote, urlencode

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from customers.models import Customer, Purchase, ServiceRecord, Vehicle
from customers.serializers import (
    CustomerSerializer,
    HouseholdSerializer,
    PurchaseSerializer,
    ServiceRecordSerializer,
    VehicleSerializer,
)
from interactions.models import CallTask, Deal, Interaction
from interactions.serializers import CallTaskSerializer, DealSerializer, InteractionSerializer
from reminders.serializers import ReminderRuleSerializer, ReminderTemplateSerializer
from tests.api.conftest import key_client
from tests.factories import CustomerFactory, VehicleFactory

pytestmark = pytest.mark.django_db

ENDPOINTS = {
    "customers": CustomerSerializer,
    "households": HouseholdSerializer,
    "vehicles": VehicleSerializer,
    "purchases": PurchaseSerializer,
    "service-records": ServiceRecordSerializer,
    "interactions": InteractionSerializer,
    "deals": DealSerializer,
    "call-tasks": CallTaskSerializer,
    "reminder-templates": ReminderTemplateSerializer,
    "reminder-rules": ReminderRuleSerializer,
}
WRITABLE = {
    name: sorted(n for n, f in s().fields.items() if not f.read_only) for name, s in ENDPOINTS.items()
}
FILTERS = ["birthday_month", "consent", "tag", "updated_since", "q", "customer", "page_size", "cursor",
           "ordering", "maker", "expiry_before", "date_from", "date_to", "kind", "status"]  # fmt: skip
CONTENT_TYPES = [
    "application/json",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/json; charset=shift_jis",
]
TENANT_ROWS = (Customer, Vehicle, Purchase, ServiceRecord, Interaction, Deal, CallTask)
FUZZ = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

hostile_strings = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "a\x00b",
        "x" * 5000,
        "2024-02-30",
        "2024-01-01T25:00:00+09:00",
        "9999-12-31",
        "-1",
        "0",
        "1e999",
        "NaN",
        "Infinity",
        "opted_in",
        "purchase",
        "won",
        "lost",
        "inspection",
        "{{ customer_name.__class__ }}",
        "=cmd|' /C calc'!A0",
        "\ud7ff",
        "東京都",
        "1,2,13",
        "C-1",
    ]
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    hostile_strings,
    st.text(max_size=40),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


@st.composite
def bodies(draw, endpoint: str):
    """A JSON object over the endpoint's writable fields (and stray ones), or something else entirely.
    "$own", "$other", "$own_vehicle" stand for real ids, substituted in the test."""
    fields = WRITABLE[endpoint]
    chosen = draw(st.lists(st.sampled_from([*fields, "tenant", "id", "bogus"]), unique=True, max_size=8))
    body = {}
    for name in chosen:
        body[name] = draw(st.one_of(json_values, st.sampled_from(["$own", "$other", "$own_vehicle"])))
    return draw(
        st.one_of(st.just(body), st.just(body), json_values.filter(lambda v: not isinstance(v, dict)))
    )


@pytest.fixture
def world(tenant, other_tenant, owner, other_owner, settings):
    from crm.api.keys import api_key_create

    settings.KIZUNA_API_RATE = "10000000/min"
    own = CustomerFactory(tenant=tenant, external_ref="C-1")
    own_vehicle = VehicleFactory(customer=own)
    other = CustomerFactory(tenant=other_tenant, external_ref="C-1")
    VehicleFactory(customer=other)
    _key, raw = api_key_create(tenant=tenant, name="Fuzz", scope="write", created_by=owner)
    return {
        "client": key_client(raw),
        "tenant": tenant,
        "other_tenant": other_tenant,
        "ids": {"$own": own.pk, "$other": other.pk, "$own_vehicle": own_vehicle.pk},
    }


def substitute(value, ids):
    if isinstance(value, str) and value in ids:
        return ids[value]
    if isinstance(value, list):
        return [substitute(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, ids) for k, v in value.items()}
    return value


def snapshot(tenant) -> dict[str, int]:
    return {m.__name__: m.objects.unscoped().filter(tenant=tenant).count() for m in TENANT_ROWS}


def no_cross_tenant_links(tenant) -> bool:
    """No row of `tenant` points at another tenant's customer or vehicle."""
    for model in (Vehicle, Purchase, ServiceRecord, Interaction, Deal, CallTask):
        if model.objects.unscoped().filter(tenant=tenant).exclude(customer__tenant=tenant).exists():
            return False
    for model in (Purchase, ServiceRecord):
        rows = model.objects.unscoped().filter(tenant=tenant, vehicle__isnull=False)
        if rows.exclude(vehicle__tenant=tenant).exists():
            return False
    return True


def send(world, method: str, path: str, payload: bytes, content_type: str = "application/json"):
    client = world["client"]
    with transaction.atomic():
        other_before = snapshot(world["other_tenant"])
        response = getattr(client, method)(path, data=payload, content_type=content_type)
        assert response.status_code < 500, (
            method,
            path,
            payload[:300],
            response.status_code,
            response.content[:300],
        )
        assert snapshot(world["other_tenant"]) == other_before, "another tenant's rows changed"
        assert no_cross_tenant_links(world["tenant"]), (
            f"a row now points at another tenant: {payload[:300]!r}"
        )
        transaction.set_rollback(True)
    return response


def encode(body) -> bytes:
    # allow_nan: the non-standard NaN/Infinity tokens are hostile input too (strict JSON refuses them).
    return json.dumps(body, allow_nan=True, ensure_ascii=False).encode("utf-8", errors="surrogatepass")


@FUZZ
@given(data=st.data(), endpoint=st.sampled_from(sorted(ENDPOINTS)))
def test_random_json_bodies_never_cause_a_server_error(world, data, endpoint):
    body = substitute(data.draw(bodies(endpoint)), world["ids"])
    method = data.draw(st.sampled_from(["post", "post", "patch", "put"]))
    if method == "post":
        path = f"/api/v1/{endpoint}/"
    elif endpoint == "customers":
        path = f"/api/v1/customers/{world['ids']['$own']}/"
    elif endpoint == "vehicles":
        path = f"/api/v1/vehicles/{world['ids']['$own_vehicle']}/"
    else:
        path = f"/api/v1/{endpoint}/"  # PATCH/PUT on a list: 405
    send(world, method, path, encode(body))


@FUZZ
@given(
    endpoint=st.sampled_from(sorted(ENDPOINTS)),
    payload=st.binary(max_size=300),
    content_type=st.sampled_from(CONTENT_TYPES),
)
def test_random_raw_bodies_never_cause_a_server_error(world, endpoint, payload, content_type):
    send(world, "post", f"/api/v1/{endpoint}/", payload, content_type)


@FUZZ
@given(
    endpoint=st.sampled_from(
        ["customers", "vehicles", "purchases", "service-records", "interactions", "deals"]
    ),
    params=st.dictionaries(
        st.sampled_from(FILTERS), st.one_of(hostile_strings, st.text(max_size=20)), max_size=4
    ),
    ref=st.one_of(hostile_strings, st.text(min_size=1, max_size=70)),
)
def test_random_filters_and_refs_never_cause_a_server_error(world, endpoint, params, ref):
    client = world["client"]
    response = client.get(f"/api/v1/{endpoint}/?{urlencode(params)}")
    assert response.status_code < 500, (params, response.status_code, response.content[:300])
    if endpoint in ("customers", "vehicles", "purchases", "service-records"):
        response = client.get(f"/api/v1/{endpoint}/by-ref/{quote(ref, safe='')}/")
        assert response.status_code < 500, (ref, response.status_code, response.content[:300])


def test_nul_in_a_by_ref_path_or_filter_is_a_client_error(world):
    client = world["client"]
    assert client.get("/api/v1/customers/by-ref/a%00b/").status_code == 404
    response = client.put("/api/v1/customers/by-ref/a%00b/", {"family_name": "山田"}, format="json")
    assert response.status_code == 400
    assert Customer.objects.unscoped().filter(tenant=world["tenant"]).count() == 1
    assert client.get("/api/v1/customers/?q=a%00b").status_code in (200, 400)


NO_ROUTE = [
    "/api/v1/service-records/by-ref/" + "ｘ" * 65 + "/",  # an id longer than the route allows
    "/api/v1/no-such-list/",
]


@pytest.mark.parametrize("path", [*NO_ROUTE, "/api/v1/customers/not-a-number/"])
def test_a_path_no_route_matches_is_a_json_404(api, path):
    response = api.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    # The same body as the API's own 404 for a row that does not exist.
    assert response.json() == api.get("/api/v1/customers/999999999/").json()


@pytest.mark.parametrize("path", NO_ROUTE)
def test_a_path_no_route_matches_is_a_json_404_without_a_key_too(api, path):
    response = APIClient().get(path)
    assert response.status_code == 404
    assert response.json() == api.get("/api/v1/customers/999999999/").json()
