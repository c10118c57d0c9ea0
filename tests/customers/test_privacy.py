"""APPI requests: disclosure of one customer's data (JSON, CSV) and erasure on request."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
from django.apps import apps
from django.db import models
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from crm.models import AuditAction, AuditEvent, IdempotentRequest
from crm.tenancy.scoping import TenantOwned
from customers.models import Consent, Customer, Purchase, ServiceRecord
from customers.privacy import customer_erase, customer_export_personal_data
from customers.services import customer_set_consent, customer_set_tags
from interactions.models import CallTask, CallTaskStatus
from reminders.models import Reminder, ReminderStatus
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

PERSONAL = {
    "family_name": "綾小路",
    "given_name": "麗華",
    "family_name_kana": "アヤノコウジ",
    "given_name_kana": "レイカ",
    "email": "reika.ayanokoji@example.jp",
    "phone": "090-9876-5432",
    "postal_code": "606-8501",
    "address": "京都市左京区吉田本町36-1",
    "notes": "娘さんの成人式の話をした",
    "external_ref": "TILL-REIKA-77",
}
PLATE, VIN = "京都 300 あ 12-34", "ZVW50-1234567"


@pytest.fixture
def rich_customer(tenant, owner):
    household = HouseholdFactory(tenant=tenant, name="綾小路家")
    customer = CustomerFactory(tenant=tenant, household=household, birthday=date(1980, 4, 5), **PERSONAL)
    customer_set_consent(tenant=tenant, customer=customer, consent=Consent.OPTED_IN, source="店頭フォーム")
    customer_set_tags(tenant=tenant, customer=customer, names=["VIP"])
    vehicle = VehicleFactory(customer=customer, plate_number=PLATE, vin=VIN)
    PurchaseFactory(customer=customer, vehicle=vehicle, amount=2_500_000, description="綾小路様 新車")
    ServiceRecordFactory(vehicle=vehicle, amount=48_000, notes="麗華様より異音の相談")
    InteractionFactory(customer=customer, summary="綾小路様に車検のご案内")
    DealFactory(customer=customer, title="綾小路様 買い替え")
    CallTaskFactory(customer=customer, reason="麗華様へ折り返し")
    IdempotentRequest.objects.create(
        tenant=tenant, key="k1", request_hash="h", response_status=201,
        response_body={"id": customer.pk, "family_name": PERSONAL["family_name"]},
    )  # fmt: skip
    return customer


def tenant_text(tenant) -> str:
    """Every text, JSON and date value of every tenant-owned row of `tenant`, as one string."""
    parts = []
    for model in apps.get_models():
        if not issubclass(model, TenantOwned):
            continue
        fields = [
            f.attname
            for f in model._meta.concrete_fields
            if isinstance(f, models.CharField | models.TextField | models.JSONField | models.DateField)
        ]
        for row in model.objects.for_tenant(tenant).values_list(*fields):
            parts.append(json.dumps(row, ensure_ascii=False, default=str))
    return "\n".join(parts)


# --- disclosure ---------------------------------------------------------------------------------------
def test_export_holds_everything_about_the_customer_and_is_audited(tenant, rich_customer):
    data = customer_export_personal_data(tenant=tenant, customer=rich_customer)

    assert data["profile"]["email"] == PERSONAL["email"]
    assert data["profile"]["birthday"] == "1980-04-05"
    assert data["profile"]["tags"] == ["VIP"]
    assert data["household"]["name"] == "綾小路家"
    assert [h["changes"]["consent"] for h in data["consent_history"]] == [["unknown", "opted_in"]]
    assert data["vehicles"][0]["plate_number"] == PLATE
    assert [p["amount"] for p in data["purchases"]] == [2_500_000]
    assert [s["amount"] for s in data["service_records"]] == [48_000]
    assert data["interactions"][0]["summary"] == "綾小路様に車検のご案内"
    assert data["deals"][0]["title"] == "綾小路様 買い替え"
    assert "analytics" in data
    json.dumps(data)  # JSON-ready
    (event,) = AuditEvent.objects.for_tenant(tenant).filter(action=AuditAction.CUSTOMER_EXPORTED)
    assert event.target_id == rich_customer.pk


def test_manager_downloads_json_and_csv_from_the_dashboard(tenant, manager_client, rich_customer):
    as_json = manager_client.get(reverse("customers:personal_data", args=[rich_customer.pk, "json"]))
    assert as_json.status_code == 200
    assert as_json["Content-Disposition"].endswith('.json"')
    assert json.loads(as_json.content)["profile"]["family_name"] == PERSONAL["family_name"]

    as_csv = manager_client.get(reverse("customers:personal_data", args=[rich_customer.pk, "csv"]))
    rows = list(csv.reader(io.StringIO(b"".join(as_csv.streaming_content).decode("utf-8-sig"))))
    assert ["profile", "", "email", PERSONAL["email"]] in rows
    assert any(r[0] == "purchases" and r[2] == "amount" and r[3] == "2500000" for r in rows)
    assert AuditEvent.objects.for_tenant(tenant).filter(action=AuditAction.CUSTOMER_EXPORTED).count() == 2


@pytest.mark.parametrize("client_name", ["staff_client", "viewer_client"])
def test_staff_and_viewers_cannot_download_personal_data(request, client_name, tenant, rich_customer):
    client = request.getfixturevalue(client_name)
    assert client.get(reverse("customers:personal_data", args=[rich_customer.pk, "json"])).status_code == 403
    assert client.get(reverse("customers:privacy", args=[rich_customer.pk])).status_code == 403
    assert not AuditEvent.objects.for_tenant(tenant).filter(action=AuditAction.CUSTOMER_EXPORTED).exists()


def test_another_tenant_gets_404_for_every_privacy_page(other_client, rich_customer):
    assert other_client.get(reverse("customers:privacy", args=[rich_customer.pk])).status_code == 404
    for fmt in ("json", "csv"):
        url = reverse("customers:personal_data", args=[rich_customer.pk, fmt])
        assert other_client.get(url).status_code == 404
    response = other_client.post(
        reverse("customers:privacy", args=[rich_customer.pk]),
        {"reason": "customer_request", "confirm": str(rich_customer.pk)},
    )
    assert response.status_code == 404
    assert Customer.objects.for_tenant(rich_customer.tenant).get(pk=rich_customer.pk).erased_at is None


# --- erasure --------------------------------------------------------------------------------------
def test_erasure_leaves_no_personal_value_and_keeps_the_totals(tenant, other_tenant, owner, rich_customer):
    twin = CustomerFactory(tenant=other_tenant, **PERSONAL)  # the same person at another shop
    totals_before = (
        Purchase.objects.for_tenant(tenant).aggregate(s=Sum("amount"))["s"],
        ServiceRecord.objects.for_tenant(tenant).aggregate(s=Sum("amount"))["s"],
    )
    before = tenant_text(tenant)
    for value in [*PERSONAL.values(), PLATE, VIN, "1980-04-05", "綾小路家"]:
        assert value in before  # the search below would find it if it were left

    customer_erase(tenant=tenant, customer=rich_customer, actor=owner, reason="customer_request")

    after = tenant_text(tenant)
    for value in [*PERSONAL.values(), PLATE, VIN, "1980-04-05", "綾小路", "麗華"]:
        assert value not in after, value
    erased = Customer.objects.for_tenant(tenant).get(pk=rich_customer.pk)
    assert erased.family_name == f"削除済み顧客 #{erased.pk}"
    assert (erased.consent, erased.erased_at is not None, erased.opted_out_at is not None) == (
        Consent.OPTED_OUT, True, True,
    )  # fmt: skip
    assert CallTask.objects.for_tenant(tenant).get().status == CallTaskStatus.CANCELLED
    assert (
        Purchase.objects.for_tenant(tenant).aggregate(s=Sum("amount"))["s"],
        ServiceRecord.objects.for_tenant(tenant).aggregate(s=Sum("amount"))["s"],
    ) == totals_before
    (event,) = AuditEvent.objects.for_tenant(tenant).filter(action=AuditAction.CUSTOMER_ERASED)
    assert (event.target_id, event.actor_user_id, event.changes["reason"]) == (
        rich_customer.pk, owner.pk, "customer_request",
    )  # fmt: skip
    twin.refresh_from_db()
    assert (twin.family_name, twin.email, twin.erased_at) == (
        PERSONAL["family_name"],
        PERSONAL["email"],
        None,
    )


def test_erasure_stops_planned_reminders(tenant, owner, rich_customer):
    from reminders.models import ReminderRule, ReminderTemplate

    template = ReminderTemplate.objects.create(tenant=tenant, name="t", subject="s", body="b")
    rule = ReminderRule.objects.create(tenant=tenant, name="r", kind="birthday", template=template)
    today = timezone.localdate()
    pending = Reminder.objects.create(
        tenant=tenant, rule=rule, step=1, customer=rich_customer, occasion_date=today, due_date=today
    )

    customer_erase(tenant=tenant, customer=rich_customer, actor=owner, reason="customer_request")

    pending.refresh_from_db()
    assert (pending.status, pending.reason) == (ReminderStatus.SKIPPED, "customer erased")


def test_owner_erases_after_confirming_with_the_customer_number(tenant, owner_client, rich_customer):
    url = reverse("customers:privacy", args=[rich_customer.pk])
    assert owner_client.get(url).status_code == 200

    wrong = owner_client.post(url, {"reason": "customer_request", "confirm": "999999"})
    assert wrong.status_code == 200
    assert Customer.objects.for_tenant(tenant).get(pk=rich_customer.pk).erased_at is None

    done = owner_client.post(url, {"reason": "customer_request", "confirm": f"#{rich_customer.pk}"})
    assert done.status_code == 302
    assert Customer.objects.for_tenant(tenant).get(pk=rich_customer.pk).erased_at is not None


@pytest.mark.parametrize("client_name", ["manager_client", "staff_client", "viewer_client"])
def test_only_owners_can_erase(request, client_name, tenant, rich_customer):
    client = request.getfixturevalue(client_name)
    response = client.post(
        reverse("customers:privacy", args=[rich_customer.pk]),
        {"reason": "customer_request", "confirm": str(rich_customer.pk)},
    )
    assert response.status_code == 403
    customer = Customer.objects.for_tenant(tenant).get(pk=rich_customer.pk)
    assert (customer.erased_at, customer.email) == (None, PERSONAL["email"])
    assert not AuditEvent.objects.for_tenant(tenant).filter(action=AuditAction.CUSTOMER_ERASED).exists()


def test_erasing_twice_is_refused(tenant, owner, rich_customer):
    from crm.common.errors import ApplicationError

    customer_erase(tenant=tenant, customer=rich_customer, actor=owner, reason="customer_request")
    with pytest.raises(ApplicationError):
        customer_erase(tenant=tenant, customer=rich_customer, actor=owner, reason="customer_request")
    assert AuditEvent.objects.for_tenant(tenant).filter(action=AuditAction.CUSTOMER_ERASED).count() == 1


# --- API ------------------------------------------------------------------------------------------
def _api(user=None, raw_key=None):
    from rest_framework.test import APIClient

    client = APIClient()
    if user is not None:
        client.force_login(user)
    if raw_key is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


def test_api_personal_data_and_erasure(tenant, owner, manager, rich_customer):
    url = f"/api/v1/customers/{rich_customer.pk}/"
    manager_api, owner_api = _api(manager), _api(owner)

    data = manager_api.get(url + "personal-data/")
    assert data.status_code == 200 and data.json()["profile"]["email"] == PERSONAL["email"]
    as_csv = manager_api.get(url + "personal-data/", {"as": "csv"})
    assert as_csv["Content-Type"].startswith("text/csv")

    assert manager_api.post(url + "erase/", {"confirm": True}, format="json").status_code == 403
    assert owner_api.post(url + "erase/", {"confirm": False}, format="json").status_code == 400
    erased = owner_api.post(url + "erase/", {"confirm": True, "reason": "customer_request"}, format="json")
    assert erased.status_code == 200, erased.content
    assert erased.json()["email"] == ""
    (event,) = AuditEvent.objects.for_tenant(tenant).filter(action=AuditAction.CUSTOMER_ERASED)
    assert event.actor_user_id == owner.pk


def test_api_keys_and_other_tenants_cannot_reach_privacy_endpoints(tenant, owner, other_owner, rich_customer):
    from crm.api.keys import api_key_create

    _key, raw = api_key_create(tenant=tenant, name="Till", scope="write", created_by=owner)
    url = f"/api/v1/customers/{rich_customer.pk}/"
    key_api, other = _api(raw_key=raw), _api(other_owner)

    assert key_api.get(url + "personal-data/").status_code == 403
    assert key_api.post(url + "erase/", {"confirm": True}, format="json").status_code == 403
    assert other.get(url + "personal-data/").status_code == 404
    assert other.post(url + "erase/", {"confirm": True}, format="json").status_code == 404
    assert Customer.objects.for_tenant(tenant).get(pk=rich_customer.pk).erased_at is None


def test_customer_360_links_to_privacy_requests_for_managers_only(
    manager_client, staff_client, rich_customer
):
    url = reverse("customers:detail", args=[rich_customer.pk])
    privacy = reverse("customers:privacy", args=[rich_customer.pk])
    assert privacy in manager_client.get(url).content.decode()
    assert privacy not in staff_client.get(url).content.decode()


def test_an_erased_customer_is_never_planned_again(tenant, owner, rich_customer):
    from datetime import timedelta

    from reminders.planner import plan_reminders
    from reminders.services import reminder_defaults_create

    reminder_defaults_create(tenant=tenant)
    kept = CustomerFactory(tenant=tenant)
    on = date(2026, 6, 1)
    for customer in (rich_customer, kept):
        VehicleFactory(customer=customer, inspection_expiry=on + timedelta(days=30))
    customer_erase(tenant=tenant, customer=rich_customer, actor=owner, reason="customer_request")

    plan_reminders(on=on)

    planned = set(Reminder.objects.for_tenant(tenant).values_list("customer_id", flat=True))
    assert planned == {kept.pk}
