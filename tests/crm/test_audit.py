"""The audit trail: append-only, written by every audited use-case, shown to owners only."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.urls import reverse

from crm.api.keys import api_key_create, api_key_revoke
from crm.models import AuditAction, AuditEvent, AuditImmutableError, Membership
from crm.security.audit import CHANGED, client_ip, field_changes
from crm.tenancy.roles import Role
from crm.tenancy.services import membership_create, membership_set_role
from customers.models import Consent
from customers.services import customer_create, customer_set_consent, customer_update, customers_handover
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db


def events(tenant, **filters):
    return list(AuditEvent.objects.for_tenant(tenant).filter(**filters).order_by("id"))


def _event(tenant, action):
    return AuditEvent.objects.create(tenant=tenant, action=action, summary="x")


# --- append-only ----------------------------------------------------------------------------------
def test_orm_refuses_to_change_or_delete_an_event(tenant):
    event = _event(tenant, AuditAction.CUSTOMER_CREATED)

    event.summary = "rewritten"
    with pytest.raises(AuditImmutableError):
        event.save()
    with pytest.raises(AuditImmutableError):
        event.delete()
    with pytest.raises(AuditImmutableError):
        AuditEvent.objects.for_tenant(tenant).update(summary="rewritten")
    with pytest.raises(AuditImmutableError):
        AuditEvent.objects.for_tenant(tenant).delete()

    assert AuditEvent.objects.for_tenant(tenant).get().summary == "x"


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE crm_auditevent SET summary = 'rewritten'",
        "DELETE FROM crm_auditevent",
    ],
)
def test_database_trigger_refuses_update_and_delete(tenant, sql):
    _event(tenant, AuditAction.CUSTOMER_CREATED)

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql)

    assert AuditEvent.objects.for_tenant(tenant).get().summary == "x"


@pytest.mark.postgres
def test_database_trigger_refuses_truncate_by_a_non_superuser(tenant):
    _event(tenant, AuditAction.CUSTOMER_CREATED)

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cur:
        # A throw-away role that holds the TRUNCATE privilege: only the trigger stands in its way.
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # run the insert's deferred FK checks first
        cur.execute("CREATE ROLE kizuna_audit_probe NOLOGIN")
        cur.execute("GRANT TRUNCATE ON crm_auditevent TO kizuna_audit_probe")
        cur.execute("SET LOCAL ROLE kizuna_audit_probe")
        cur.execute("TRUNCATE crm_auditevent")

    assert AuditEvent.objects.for_tenant(tenant).count() == 1


def test_deleting_a_tenant_deletes_its_trail_only(tenant, other_tenant):
    from crm.models import Tenant

    _event(tenant, AuditAction.CUSTOMER_CREATED)
    _event(other_tenant, AuditAction.CUSTOMER_CREATED)

    Tenant.objects.filter(pk=tenant.pk).delete()

    assert AuditEvent.objects.unscoped().filter(tenant=tenant.pk).count() == 0
    assert AuditEvent.objects.for_tenant(other_tenant).count() == 1


@pytest.mark.postgres
def test_purge_permission_does_not_reach_another_tenant(tenant, other_tenant):
    from crm.security.audit import PURGE_SETTING

    _event(other_tenant, AuditAction.CUSTOMER_CREATED)

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT set_config(%s, %s, true)", [PURGE_SETTING, str(tenant.pk)])
        cur.execute("DELETE FROM crm_auditevent WHERE tenant_id = %s", [other_tenant.pk])

    assert AuditEvent.objects.for_tenant(other_tenant).count() == 1


# --- what is recorded -----------------------------------------------------------------------------
def test_field_changes_hide_personal_values():
    changes = field_changes(
        {"family_name": "山田", "acquisition_channel": "walk_in", "email": "a@example.jp"},
        {"family_name": "田中", "acquisition_channel": "website", "email": "a@example.jp"},
    )
    assert changes == {"family_name": CHANGED, "acquisition_channel": ["walk_in", "website"]}


def test_customer_create_update_and_consent_are_audited_without_personal_values(tenant, owner, rf):
    request = rf.post("/", REMOTE_ADDR="203.0.113.7")
    request.user = owner
    from crm.security.audit import _current_request

    token = _current_request.set(request)
    try:
        customer = customer_create(
            tenant=tenant, family_name="鈴木", given_name="花子", email="hanako@example.jp",
            acquisition_channel="website",
        )  # fmt: skip
        customer_update(
            tenant=tenant,
            customer=customer,
            data={"phone": "090-1111-2222", "acquisition_channel": "walk_in"},
        )
        customer_update(tenant=tenant, customer=customer, data={"phone": "090-1111-2222"})  # no change
        customer_set_consent(
            tenant=tenant, customer=customer, consent=Consent.OPTED_IN, source="counter form"
        )
    finally:
        _current_request.reset(token)

    created, changed, consent = events(tenant)
    assert [created.action, changed.action, consent.action] == [
        AuditAction.CUSTOMER_CREATED,
        AuditAction.CUSTOMER_CHANGED,
        AuditAction.CONSENT_CHANGED,
    ]
    for e in (created, changed, consent):
        assert (e.actor_user_id, e.ip, e.target_type, e.target_id) == (
            owner.pk, "203.0.113.7", "customers.customer", customer.pk,
        )  # fmt: skip
    assert created.changes["family_name"] == CHANGED
    assert changed.changes == {"phone": CHANGED, "acquisition_channel": ["website", "walk_in"]}
    assert consent.changes == {"consent": ["unknown", "opted_in"], "consent_source": "counter form"}
    dumped = str([(e.summary, e.changes, e.actor_label) for e in (created, changed, consent)])
    for personal in ("鈴木", "花子", "hanako@example.jp", "090-1111-2222"):
        assert personal not in dumped


def test_roles_keys_and_handover_are_audited(tenant, owner):
    alice = UserFactory(email="alice@shop-a.test")
    bob = UserFactory(email="bob@shop-a.test")
    membership = membership_create(tenant=tenant, user=alice, role=Role.STAFF)
    membership_create(tenant=tenant, user=bob, role=Role.STAFF)
    membership_set_role(tenant=tenant, membership=membership, role=Role.MANAGER)
    key, _raw = api_key_create(tenant=tenant, name="Till", scope="write", created_by=owner)
    api_key_revoke(tenant=tenant, key_id=key.pk)
    api_key_revoke(tenant=tenant, key_id=key.pk)  # revoking twice records once
    CustomerFactory(tenant=tenant, assigned_staff=alice)
    customers_handover(tenant=tenant, from_user=alice, to_user=bob, performed_by=owner)

    got = [(e.action, e.changes.get("role")) for e in events(tenant)]
    assert got == [
        (AuditAction.MEMBER_ADDED, [None, "staff"]),
        (AuditAction.MEMBER_ADDED, [None, "staff"]),
        (AuditAction.MEMBER_ROLE_CHANGED, ["staff", "manager"]),
        (AuditAction.API_KEY_CREATED, None),
        (AuditAction.API_KEY_REVOKED, None),
        (AuditAction.HANDOVER_RUN, None),
    ]
    handover = events(tenant, action=AuditAction.HANDOVER_RUN)[0]
    assert handover.actor_user_id == owner.pk
    assert handover.changes["customers_moved"] == 1
    assert events(tenant, action=AuditAction.API_KEY_CREATED)[0].actor_user_id == owner.pk


def test_dashboard_role_change_records_user_and_ip(tenant, owner_client, owner):
    staff_user = UserFactory(email="s@shop-a.test")
    membership = Membership.objects.create(tenant=tenant, user=staff_user, role=Role.STAFF)

    owner_client.post(
        reverse("settings_member_role", args=[membership.pk]),
        {"role": Role.MANAGER},
        REMOTE_ADDR="198.51.100.4",
    )

    (event,) = events(tenant, action=AuditAction.MEMBER_ROLE_CHANGED)
    assert (event.actor_user_id, event.actor_label, event.ip) == (owner.pk, owner.email, "198.51.100.4")


def test_customer_csv_export_from_the_dashboard_is_audited(tenant, staff_client, staff):
    CustomerFactory(tenant=tenant)

    response = staff_client.post(reverse("customers:bulk"), {"action": "export", "querystring": "q=山田"})
    b"".join(response.streaming_content)

    (event,) = events(tenant, action=AuditAction.EXPORT_VIEWED)
    assert (event.actor_user_id, event.target_type, event.changes["filters"]) == (
        staff.pk, "customers.customer", ["q"],
    )  # fmt: skip
    assert "山田" not in str(event.changes)


def test_api_export_and_writes_record_the_key(tenant, owner):
    from rest_framework.test import APIClient

    key, raw = api_key_create(tenant=tenant, name="Till", scope="write", created_by=owner)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert client.get("/api/v1/vehicles/export/?status=owned").status_code == 200
    created = client.post("/api/v1/customers/", {"family_name": "佐藤"}, format="json")
    assert created.status_code == 201, created.content

    export = events(tenant, action=AuditAction.EXPORT_VIEWED)[0]
    create = events(tenant, action=AuditAction.CUSTOMER_CREATED)[0]
    for e in (export, create):
        assert (e.actor_user_id, e.actor_api_key_id, e.ip) == (None, key.pk, "127.0.0.1")
        assert e.actor_label.startswith("API key Till")
    assert (export.target_type, export.changes) == ("customers.vehicle", {"filters": ["status"]})


def test_unsubscribe_link_is_audited_as_a_consent_change(tenant, client):
    from reminders.services import unsubscribe_token

    customer = CustomerFactory(tenant=tenant, consent=Consent.OPTED_IN, consent_at="2025-01-01T00:00Z")
    token = unsubscribe_token(tenant_id=tenant.pk, customer_id=customer.pk)

    client.post(reverse("unsubscribe", args=[token]), REMOTE_ADDR="192.0.2.9")

    (event,) = events(tenant, action=AuditAction.CONSENT_CHANGED)
    assert (event.actor_user_id, event.actor_label, event.ip) == (None, "", "192.0.2.9")
    assert event.changes == {"consent": ["opted_in", "opted_out"], "consent_source": "unsubscribe link"}


# --- client IP ------------------------------------------------------------------------------------
def test_forwarded_for_is_ignored_unless_a_proxy_is_trusted(rf, settings):
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.5")
    settings.AUDIT_TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "10.0.0.2"
    settings.AUDIT_TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "203.0.113.5"  # the hop our proxy saw, not what the client wrote
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="not-an-ip")
    assert client_ip(request) is None


# --- the owner's page -----------------------------------------------------------------------------
@pytest.fixture
def trail(tenant, owner, other_tenant):
    membership_create(tenant=tenant, user=UserFactory(email="m1@shop-a.test"), role=Role.STAFF)
    api_key_create(tenant=tenant, name="Till", scope="read", created_by=owner)
    api_key_create(tenant=other_tenant, name="Other shop key", scope="read", created_by=None)


def test_owner_sees_and_filters_the_audit_log(owner_client, trail):
    page = owner_client.get(reverse("settings_audit"))
    assert page.status_code == 200
    assert [e.action for e in page.context["page"]] == [AuditAction.API_KEY_CREATED, AuditAction.MEMBER_ADDED]
    assert "Other shop key" not in page.content.decode()

    filtered = owner_client.get(reverse("settings_audit"), {"action": AuditAction.MEMBER_ADDED})
    assert [e.action for e in filtered.context["page"]] == [AuditAction.MEMBER_ADDED]


def test_audit_csv_export_is_itself_audited(tenant, owner_client, trail):
    response = owner_client.get(reverse("settings_audit"), {"format": "csv", "action": "api_key_created"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert len(rows) == 2 and "Till" in rows[1][5]

    (event,) = events(tenant, action=AuditAction.AUDIT_EXPORTED)
    assert event.changes == {"filters": ["action"]}


@pytest.mark.parametrize("client_name", ["manager_client", "staff_client", "viewer_client"])
def test_only_owners_see_the_audit_log(request, client_name, trail):
    client = request.getfixturevalue(client_name)
    assert client.get(reverse("settings_audit")).status_code == 403
    assert client.get(reverse("settings_audit"), {"format": "csv"}).status_code == 403


def test_audit_api_is_for_owners_of_the_tenant_only(tenant, owner, other_owner, trail):
    from rest_framework.test import APIClient

    from crm.api.keys import api_key_create as create_key

    owner_api = APIClient()
    owner_api.force_login(owner)
    listed = owner_api.get("/api/v1/audit-events/")
    assert listed.status_code == 200
    assert [r["action"] for r in listed.json()["results"]] == ["api_key_created", "member_added"]
    one = listed.json()["results"][0]["id"]

    other_api = APIClient()
    other_api.force_login(other_owner)
    assert other_api.get(f"/api/v1/audit-events/{one}/").status_code == 404

    _key, raw = create_key(tenant=tenant, name="Integration", scope="write", created_by=owner)
    key_api = APIClient()
    key_api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert key_api.get("/api/v1/audit-events/").status_code == 403
    assert owner_api.delete(f"/api/v1/audit-events/{one}/").status_code == 405


def test_a_csv_import_is_audited_with_who_started_it(tenant, owner, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from customers.imports.enqueue import import_job_create

    settings.MEDIA_ROOT = tmp_path
    upload = SimpleUploadedFile("c.csv", "family_name,email\n山田,a@example.jp\n".encode())

    job = import_job_create(tenant=tenant, kind="customers", upload=upload, created_by=owner)

    (event,) = events(tenant, action=AuditAction.IMPORT_QUEUED)
    assert (event.target_type, event.target_id, event.actor_user_id) == (
        "customers.importjob",
        job.pk,
        owner.pk,
    )
    assert event.changes == {"kind": "customers", "rows_estimated": 1, "skip_invalid": False}


def test_platform_admin_lists_the_trail_read_only(tenant, client):
    from tests.factories import UserFactory as Users

    _event(tenant, AuditAction.CUSTOMER_CREATED)
    operator = Users(email="root@kizuna.test", is_staff=True, is_superuser=True)
    client.force_login(operator)

    assert client.get("/admin/crm/auditevent/").status_code == 200
    event = AuditEvent.objects.for_tenant(tenant).get()
    assert client.post(f"/admin/crm/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.for_tenant(tenant).count() == 1
