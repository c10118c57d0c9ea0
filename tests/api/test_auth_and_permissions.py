"""API keys, roles, CSRF, throttling, size limits and translated errors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.middleware.csrf import _get_new_csrf_string
from rest_framework.test import APIClient

from crm.api.keys import api_key_authenticate, api_key_create, api_key_revoke, hash_key
from crm.models import ApiKey, Membership
from customers.models import Customer
from tests.api.conftest import key_client
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_key_is_stored_hashed_and_shown_once(tenant, owner):
    key, raw = api_key_create(tenant=tenant, name="Till", scope="write", created_by=owner)

    stored = ApiKey.objects.for_tenant(tenant).get(pk=key.pk)
    assert raw.startswith("kzn_") and len(raw) > 40
    assert stored.hashed_key == hash_key(raw)
    assert raw not in {stored.hashed_key, stored.prefix}
    assert raw.startswith(stored.prefix)


def test_request_is_scoped_to_the_keys_tenant(tenant, other_tenant, api):
    CustomerFactory(tenant=tenant, family_name="自店")
    CustomerFactory(tenant=other_tenant, family_name="他店")

    names = [c["family_name"] for c in api.get("/api/v1/customers/").json()["results"]]

    assert names == ["自店"]


def test_missing_unknown_and_revoked_keys_get_401(tenant, owner, write_key):
    key, raw = write_key
    api_key_revoke(tenant=tenant, key_id=key.pk)

    assert APIClient().get("/api/v1/customers/").status_code == 401
    assert key_client("kzn_not-a-real-key").get("/api/v1/customers/").status_code == 401
    revoked = key_client(raw).get("/api/v1/customers/")
    assert revoked.status_code == 401
    assert revoked["WWW-Authenticate"] == 'Bearer realm="api"'


def test_revoking_another_tenants_key_is_404(tenant, other_tenant, other_owner):
    from django.http import Http404

    theirs, raw = api_key_create(tenant=other_tenant, name="x", scope="read", created_by=other_owner)

    with pytest.raises(Http404):
        api_key_revoke(tenant=tenant, key_id=theirs.pk)
    assert api_key_authenticate(raw=raw) is not None


def test_last_used_is_recorded_at_most_once_a_minute(tenant, write_key, api):
    key, _raw = write_key
    api.get("/api/v1/customers/")
    first = ApiKey.objects.for_tenant(tenant).get(pk=key.pk).last_used_at
    api.get("/api/v1/customers/")
    assert ApiKey.objects.for_tenant(tenant).get(pk=key.pk).last_used_at == first

    ApiKey.objects.for_tenant(tenant).filter(pk=key.pk).update(last_used_at=first - timedelta(minutes=2))
    api.get("/api/v1/customers/")
    assert ApiKey.objects.for_tenant(tenant).get(pk=key.pk).last_used_at > first


@pytest.mark.parametrize("client_fixture", ["read_api", "viewer_api"])
def test_read_keys_and_viewers_can_read_but_not_write(client_fixture, request, tenant):
    client = request.getfixturevalue(client_fixture)
    customer = CustomerFactory(tenant=tenant, family_name="元")

    assert client.get("/api/v1/customers/").status_code == 200
    assert client.post("/api/v1/customers/", {"family_name": "新"}, format="json").status_code == 403
    assert (
        client.patch(f"/api/v1/customers/{customer.pk}/", {"family_name": "変"}, format="json").status_code
        == 403
    )
    assert client.put("/api/v1/customers/by-ref/R1/", {"family_name": "新"}, format="json").status_code == 403
    assert client.delete(f"/api/v1/customers/{customer.pk}/").status_code == 403
    assert list(Customer.objects.for_tenant(tenant).values_list("family_name", flat=True)) == ["元"]


def test_staff_session_can_write_with_csrf_token_only(tenant, staff):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(staff)

    refused = client.post("/api/v1/customers/", {"family_name": "新"}, format="json")
    token = _get_new_csrf_string()
    client.cookies["csrftoken"] = token
    accepted = client.post("/api/v1/customers/", {"family_name": "新"}, format="json", HTTP_X_CSRFTOKEN=token)

    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert accepted.status_code == 201


def test_members_are_for_owners_only(tenant, owner, staff, owner_api, staff_api, api):
    membership = Membership.objects.for_tenant(tenant).get(user=staff)

    assert staff_api.get("/api/v1/members/").status_code == 403
    assert api.get("/api/v1/members/").status_code == 403  # keys never have owner rights
    emails = sorted(m["email"] for m in owner_api.get("/api/v1/members/").json()["results"])
    promoted = owner_api.patch(f"/api/v1/members/{membership.pk}/", {"role": "manager"}, format="json")

    assert emails == [owner.email, staff.email]
    assert promoted.status_code == 200
    assert Membership.objects.for_tenant(tenant).get(user=staff).role == "manager"


def test_last_owner_cannot_be_demoted(tenant, owner, owner_api):
    membership = Membership.objects.for_tenant(tenant).get(user=owner)

    response = owner_api.patch(f"/api/v1/members/{membership.pk}/", {"role": "staff"}, format="json")

    assert response.status_code == 400
    assert Membership.objects.for_tenant(tenant).get(user=owner).role == "owner"


def test_person_without_active_tenant_is_refused(db):
    from tests.factories import UserFactory

    client = APIClient()
    client.force_login(UserFactory())

    assert client.get("/api/v1/customers/").status_code == 403


def test_throttle_answers_429_with_retry_after(settings, api, read_api):
    settings.KIZUNA_API_RATE = "3/min"

    codes = [api.get("/api/v1/customers/").status_code for _ in range(4)]
    throttled = api.get("/api/v1/customers/")

    assert codes == [200, 200, 200, 429]
    assert int(throttled["Retry-After"]) > 0
    assert "detail" in throttled.json()
    assert read_api.get("/api/v1/customers/").status_code == 200  # the limit is per key


def test_request_body_over_the_limit_is_413(settings, api, tenant):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = api.post("/api/v1/customers/", {"family_name": "x", "notes": "あ" * 1000}, format="json")

    assert response.status_code == 413
    assert not Customer.objects.for_tenant(tenant).exists()


def test_field_errors_are_json_and_translated(api):
    english = api.post("/api/v1/customers/", {}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    japanese = api.post("/api/v1/customers/", {}, format="json", HTTP_ACCEPT_LANGUAGE="ja")

    assert english.status_code == japanese.status_code == 400
    assert english.json() == {"family_name": ["This field is required."]}
    assert japanese.json() == {"family_name": ["この項目は必須です。"]}


def test_model_validation_errors_become_field_errors(tenant, api):
    response = api.post(
        "/api/v1/deals/",
        {"customer": CustomerFactory(tenant=tenant).pk, "title": "x", "stage": "lost"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 400
    assert response.json() == {"lost_reason": ["Say why the deal was lost."]}


def test_create_api_key_command_prints_the_key_once(tenant, capsys):
    call_command("create_api_key", "--tenant", tenant.slug, "--name", "POS", "--scope", "write")
    raw = capsys.readouterr().out.strip()

    key = api_key_authenticate(raw=raw)
    assert key is not None and key.tenant_id == tenant.pk and key.scope == "write" and key.name == "POS"


def test_schema_and_docs_are_served_locally_with_the_bearer_scheme(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    docs = client.get("/api/docs/")
    redoc = client.get("/api/docs/redoc/")

    assert schema.status_code == docs.status_code == redoc.status_code == 200
    body = schema.json()
    assert body["components"]["securitySchemes"]["ApiKeyAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": body["components"]["securitySchemes"]["ApiKeyAuth"]["description"],
    }
    assert "/api/v1/customers/by-ref/{external_ref}/" in body["paths"]
    assert "429" in body["paths"]["/api/v1/customers/"]["get"]["responses"]
    assert "Idempotency-Key" in [p["name"] for p in body["paths"]["/api/v1/customers/"]["post"]["parameters"]]
    assert "static/drf_spectacular_sidecar" in docs.content.decode()  # no CDN


@pytest.mark.parametrize("bad_id", ["abc", "1.5", "99999999999999999999999", "-1"])
def test_malformed_ids_are_json_404s(api, bad_id):
    response = api.get(f"/api/v1/customers/{bad_id}/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


def test_out_of_range_filters_are_400(api):
    assert api.get("/api/v1/deals/", {"customer": "1e308"}).status_code == 400
    assert api.get("/api/v1/customers/", {"birthday_month": "13"}).status_code == 400


def test_datetime_filters_with_extreme_offsets_are_normalised_not_errors(api):
    assert (
        api.get("/api/v1/interactions/", {"occurred_at_before": "8616-03-06T12:48:08+20:19"}).status_code
        == 200
    )
    assert api.get("/api/v1/customers/", {"updated_since": "2025-01-01T00:00:00+23:59"}).status_code == 200
    # Found by schemathesis: the bookings' start filters went to PostgreSQL with the offset as given.
    assert api.get("/api/v1/bookings/", {"starts_after": "5044-10-01T20:07:53.483+22:59"}).status_code == 200
    assert api.get("/api/v1/bookings/", {"starts_before": "2026-01-01T00:00:00-23:00"}).status_code == 200
    assert api.get("/api/v1/customers/", {"updated_since": "9999-12-31T23:00:00-20:00"}).status_code == 400
