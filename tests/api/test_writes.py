"""Idempotent POSTs, upserts by external_ref, CSV export, cursor paging and query counts."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm.models import IdempotentRequest
from customers.models import Customer, Purchase, Vehicle
from tests.factories import CustomerFactory, VehicleFactory

pytestmark = pytest.mark.django_db


# --- Idempotency-Key ---------------------------------------------------------------------------------
def test_retry_with_same_key_and_body_replays_without_creating_twice(tenant, api):
    body = {"family_name": "佐藤", "given_name": "花子"}

    first = api.post("/api/v1/customers/", body, format="json", HTTP_IDEMPOTENCY_KEY="abc-1")
    retry = api.post("/api/v1/customers/", body, format="json", HTTP_IDEMPOTENCY_KEY="abc-1")

    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert Customer.objects.for_tenant(tenant).count() == 1


def test_same_key_with_different_body_is_409(tenant, api):
    api.post("/api/v1/customers/", {"family_name": "佐藤"}, format="json", HTTP_IDEMPOTENCY_KEY="abc-2")

    conflict = api.post(
        "/api/v1/customers/", {"family_name": "鈴木"}, format="json", HTTP_IDEMPOTENCY_KEY="abc-2"
    )

    assert conflict.status_code == 409
    assert list(Customer.objects.for_tenant(tenant).values_list("family_name", flat=True)) == ["佐藤"]


def test_idempotency_keys_are_per_tenant(tenant, other_tenant, api, other_api):
    api.post("/api/v1/customers/", {"family_name": "佐藤"}, format="json", HTTP_IDEMPOTENCY_KEY="same")
    theirs = other_api.post(
        "/api/v1/customers/", {"family_name": "佐藤"}, format="json", HTTP_IDEMPOTENCY_KEY="same"
    )

    assert theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs
    assert Customer.objects.for_tenant(other_tenant).count() == 1


def test_a_validation_error_is_replayed_too(tenant, api):
    first = api.post("/api/v1/customers/", {"phone": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="bad")
    retry = api.post("/api/v1/customers/", {"phone": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="bad")

    assert first.status_code == retry.status_code == 400
    assert retry.json() == first.json()
    assert IdempotentRequest.objects.for_tenant(tenant).get(key="bad").response_status == 400


def test_an_answer_postgresql_cannot_store_is_given_but_not_kept(tenant, api):
    """An import report echoing a NUL byte of a binary upload: jsonb cannot hold it, so it is not kept."""
    upload = io.BytesIO(b"RIFF\x1a\x00\x00\x00WEBP\n1,2\n")
    upload.name = "file.webp"
    data = {"kind": "purchases", "file": upload, "dry_run": "true"}

    response = api.post("/api/v1/imports/", data, format="multipart", HTTP_IDEMPOTENCY_KEY="nul")

    assert response.status_code == 400
    assert response.json()["errors"][0]["column"].startswith("RIFF\x1a\x00")
    assert not IdempotentRequest.objects.for_tenant(tenant).exists()


def test_post_without_key_is_not_recorded(tenant, api):
    api.post("/api/v1/customers/", {"family_name": "佐藤"}, format="json")
    api.post("/api/v1/customers/", {"family_name": "佐藤"}, format="json")

    assert Customer.objects.for_tenant(tenant).count() == 2
    assert not IdempotentRequest.objects.for_tenant(tenant).exists()


# --- upsert by external_ref ----------------------------------------------------------------------------
def test_put_by_ref_creates_then_updates(tenant, api):
    created = api.put("/api/v1/customers/by-ref/POS-1/", {"family_name": "田中"}, format="json")
    updated = api.put(
        "/api/v1/customers/by-ref/POS-1/", {"family_name": "田中", "phone": "03-1111-2222"}, format="json"
    )
    read = api.get("/api/v1/customers/by-ref/POS-1/")

    assert (created.status_code, updated.status_code, read.status_code) == (201, 200, 200)
    assert created.json()["id"] == updated.json()["id"] == read.json()["id"]
    customer = Customer.objects.for_tenant(tenant).get()
    assert (customer.external_ref, customer.phone) == ("POS-1", "03-1111-2222")


def test_vehicle_and_purchase_upserts_resolve_customers_by_ref(tenant, api):
    CustomerFactory(tenant=tenant, external_ref="C-1")
    vehicle = api.put(
        "/api/v1/vehicles/by-ref/V-1/",
        {"customer_external_ref": "C-1", "maker": "スズキ", "model_name": "ジムニー"},
        format="json",
    )
    purchase = api.put(
        "/api/v1/purchases/by-ref/P-1/",
        {
            "customer_external_ref": "C-1",
            "vehicle_external_ref": "V-1",
            "date": "2025-04-01",
            "category": "used_car",
            "amount": 1_500_000,
        },
        format="json",
    )

    assert vehicle.status_code == purchase.status_code == 201
    assert Vehicle.objects.for_tenant(tenant).get().customer.external_ref == "C-1"
    stored = Purchase.objects.for_tenant(tenant).get()
    assert (stored.vehicle.external_ref, stored.category.code, stored.amount) == (
        "V-1",
        "used_car",
        1_500_000,
    )


def test_duplicate_external_ref_on_post_is_a_field_error(tenant, api):
    CustomerFactory(tenant=tenant, external_ref="DUP")

    response = api.post("/api/v1/customers/", {"family_name": "x", "external_ref": "DUP"}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["external_ref"]
    assert Customer.objects.for_tenant(tenant).count() == 1


# --- export ---------------------------------------------------------------------------------------------
def test_export_is_filtered_and_safe_against_formula_injection(tenant, api):
    CustomerFactory(tenant=tenant, family_name='=HYPERLINK("http://x")', consent="unknown")
    CustomerFactory(tenant=tenant, family_name="対象外", consent="opted_out")

    response = api.get("/api/v1/customers/export/?consent=unknown")
    content = b"".join(response.streaming_content)

    assert response["Content-Type"].startswith("text/csv")
    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert [r["family_name"] for r in rows] == ['\'=HYPERLINK("http://x")']


# --- paging and sync ------------------------------------------------------------------------------------
def test_cursor_paging_with_updated_since_walks_every_row_once(tenant, api):
    old = CustomerFactory(tenant=tenant)
    Customer.objects.for_tenant(tenant).filter(pk=old.pk).update(
        updated_at=timezone.now() - timedelta(days=3)
    )
    recent = [CustomerFactory(tenant=tenant).pk for _ in range(7)]
    since = (timezone.now() - timedelta(days=1)).isoformat()

    seen, url = [], "/api/v1/customers/"
    params = {"updated_since": since, "page_size": 3}
    while url:
        page = api.get(url, params).json()
        seen += [r["id"] for r in page["results"]]
        url, params = page["next"], None

    assert seen == recent


def test_list_query_count_does_not_grow_with_page_size(tenant, api):
    for _ in range(30):
        customer = CustomerFactory(tenant=tenant)
        VehicleFactory(customer=customer)
    api.post("/api/v1/customers/", {"family_name": "x", "tags": ["VIP", "法人"]}, format="json")

    counts = {}
    for path in ["customers", "vehicles", "purchases", "service-records", "deals", "interactions"]:
        for size in (2, 30):
            with CaptureQueriesContext(connection) as ctx:
                assert api.get(f"/api/v1/{path}/", {"page_size": size}).status_code == 200
            counts[(path, size)] = len(ctx)

    for path in ["customers", "vehicles", "purchases", "service-records", "deals", "interactions"]:
        assert counts[(path, 30)] == counts[(path, 2)], (path, counts)
    # 6, plus the two row-level-security settings of a key request (crm.tenancy.rls): the key's hash before
    # the lookup, the key's tenant after it.
    assert counts[("customers", 30)] <= 8
