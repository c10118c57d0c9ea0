"""Database-level tenant isolation (crm.tenancy.rls): PostgreSQL row-level security, as the application role.

The main suite connects as the `postgres` superuser, which row-level security never applies to. These
tests reconnect the `default` connection as the application role `kizuna_app` (created here when
missing, granted on the test database) after the test data was committed as the superuser
(`transaction=True` tests), and switch back before pytest-django flushes the database.
"""

from __future__ import annotations

import io
from contextlib import contextmanager
from datetime import time as dt_time

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, connections, transaction

from crm.api.keys import api_key_create
from crm.models import Tenant
from crm.tenancy.checks import check_tenant_rls, tenant_tables
from crm.tenancy.dbroles import DEFAULT_APP_ROLE, create_app_role_sql, grant_app_role_sql
from crm.tenancy.rls import (
    TenantContextError,
    current_db_tenant,
    set_db_tenant,
    tenant_context,
    tenant_task,
)
from crm.tenancy.roles import Role
from crm.tenancy.scoping import TenantOwned
from customers.models import Customer
from tests.factories import CustomerFactory, MembershipFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.postgres

APP_ROLE = DEFAULT_APP_ROLE


class _Sink(io.StringIO):
    """Swallows command output."""


@pytest.fixture(scope="session")
def app_role(django_db_setup, django_db_blocker):
    """The application role, with its grants on the test database (created by the superuser)."""
    from django.conf import settings

    if not settings.IS_POSTGRES:
        return None
    with django_db_blocker.unblock(), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        owner = cursor.fetchone()[0]
        for sql in create_app_role_sql(connection, APP_ROLE, None):
            cursor.execute(sql)
        for sql in grant_app_role_sql(connection, APP_ROLE, owner):
            cursor.execute(sql)
    return APP_ROLE


@contextmanager
def connected_as(role: str, *, conn_max_age: int | None = None):
    """Reconnect the default connection as `role` for the block (and back to the superuser after)."""
    conn = connections["default"]
    saved = {k: conn.settings_dict[k] for k in ("USER", "PASSWORD", "CONN_MAX_AGE")}
    conn.close()
    conn.settings_dict.update(USER=role, PASSWORD="")
    if conn_max_age is not None:
        conn.settings_dict["CONN_MAX_AGE"] = conn_max_age
    try:
        yield conn
    finally:
        conn.close()
        conn.settings_dict.update(saved)


@pytest.fixture
def as_app(transactional_db, app_role):
    """Run the test body as the application role (the data fixtures ran, and committed, as the superuser)."""

    @contextmanager
    def _as_app(**kwargs):
        with connected_as(app_role, **kwargs) as conn:
            yield conn

    return _as_app


@pytest.fixture
def two_shops(transactional_db):
    a = TenantFactory(slug="rls-a", name="RLS A")
    b = TenantFactory(slug="rls-b", name="RLS B")
    rows = {
        a.pk: {CustomerFactory(tenant=a, family_name=f"Aonly{i}").pk for i in range(3)},
        b.pk: {CustomerFactory(tenant=b, family_name=f"Bonly{i}").pk for i in range(2)},
    }
    return a, b, rows


def _tenant_ids_raw() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tenant_id FROM customers_customer")
        return [row[0] for row in cursor.fetchall()]


# --- the role and the schema ----------------------------------------------------------------------
def test_every_table_with_a_tenant_id_has_rls_enabled_forced_and_a_policy(db):
    """A new tenant-owned model whose migration lacks crm.tenancy.rls.EnableTenantRLS fails here."""
    from django.apps import apps

    tables = {t["relname"]: t for t in tenant_tables(connection)}
    model_tables = {
        m._meta.db_table for m in apps.get_models(include_auto_created=True) if issubclass(m, TenantOwned)
    }
    assert model_tables <= set(tables), "tenant-owned models without a table"
    unprotected = sorted(
        name
        for name, t in tables.items()
        if not (t["relrowsecurity"] and t["relforcerowsecurity"] and t["has_policy"])
    )
    assert unprotected == []
    assert check_tenant_rls(connection) == [] or all(
        e.id == "kizuna.E001" for e in check_tenant_rls(connection)
    )


def test_check_flags_a_tenant_table_without_policy(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE rls_probe_unprotected (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL)"
        )
    errors = [e for e in check_tenant_rls(connection) if e.id == "kizuna.E002"]
    assert [e.msg for e in errors] == [
        "Tenant table 'rls_probe_unprotected' lacks "
        "ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY, a policy."
    ]


def test_check_refuses_the_superuser_and_passes_the_app_role(as_app, settings):
    settings.KIZUNA_ALLOW_RLS_BYPASS = False
    errors = check_tenant_rls(connection)
    assert [e.id for e in errors] == ["kizuna.E001"]
    assert "is a superuser" in errors[0].msg
    with as_app():
        assert check_tenant_rls(connection) == []
        # The registered check runs for `manage.py check --database default` and passes too.
        call_command("check", databases=["default"], fail_level="ERROR")


def test_bypass_setting_silences_only_the_role_error(db, settings):
    settings.KIZUNA_ALLOW_RLS_BYPASS = True
    assert [e.id for e in check_tenant_rls(connection)] == []


def test_app_role_attributes(as_app):
    with as_app(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        )
        assert cursor.fetchone() == (APP_ROLE, False, False)


# --- the policies ---------------------------------------------------------------------------------
def test_unscoped_orm_and_raw_sql_see_only_the_active_tenant(as_app, two_shops):
    a, b, rows = two_shops
    with as_app():
        for tenant in (a, b):
            with tenant_context(tenant.pk):
                assert current_db_tenant() == tenant.pk
                assert set(Customer.objects.unscoped().values_list("pk", flat=True)) == rows[tenant.pk]
                assert _tenant_ids_raw() == [tenant.pk] * len(rows[tenant.pk])
                # Even naming the other tenant explicitly finds nothing.
                other = b if tenant == a else a
                assert Customer.objects.for_tenant(other).count() == 0


def test_no_tenant_no_rows_and_no_insert(as_app, two_shops):
    a, b, rows = two_shops
    with as_app():
        assert Customer.objects.unscoped().count() == 0  # autocommit, nothing set
        assert _tenant_ids_raw() == []
        with transaction.atomic():
            assert Customer.objects.unscoped().count() == 0
        with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
            CustomerFactory(tenant=a)
        # A row for another tenant than the active one is refused too, and so is moving a row.
        with pytest.raises(DatabaseError, match="row-level security"), tenant_context(a.pk):
            CustomerFactory(tenant=b)
        with pytest.raises(DatabaseError, match="row-level security"), tenant_context(a.pk):
            Customer.objects.for_tenant(a).update(tenant_id=b.pk)
        with tenant_context(a.pk):
            assert set(Customer.objects.unscoped().values_list("pk", flat=True)) == rows[a.pk]
    # Nothing changed (checked as the superuser, who sees everything).
    assert Customer.objects.unscoped().count() == 5
    assert set(Customer.objects.for_tenant(a).values_list("pk", flat=True)) == rows[a.pk]


def test_set_db_tenant_needs_a_transaction(transactional_db):
    assert not connection.in_atomic_block
    with pytest.raises(TenantContextError):
        set_db_tenant(1)
    with pytest.raises(TypeError, match="must take tenant_id as its first argument"):

        @tenant_task
        def not_a_task(job_id):  # tenant_id must come first
            pass


def test_tenant_context_restores_the_outer_tenant(as_app, two_shops):
    a, b, _ = two_shops
    with as_app():
        with tenant_context(a.pk):
            with tenant_context(b.pk):
                assert current_db_tenant() == b.pk
            assert current_db_tenant() == a.pk
            with pytest.raises(ZeroDivisionError), tenant_context(b.pk):
                1 / 0  # noqa: B018
            assert current_db_tenant() == a.pk
        with transaction.atomic():
            assert current_db_tenant() is None


# --- requests and tasks on reused connections ----------------------------------------------------------
@pytest.fixture
def two_shops_with_people(two_shops):
    from django.test import Client

    a, b, rows = two_shops
    clients, keys = {}, {}
    for tenant in (a, b):
        user = UserFactory(email=f"owner@{tenant.slug}.test")
        MembershipFactory(tenant=tenant, user=user, role=Role.OWNER)
        client = Client()
        client.force_login(user)
        clients[tenant.pk] = client
        _, keys[tenant.pk] = api_key_create(tenant=tenant, name="till", scope="read", created_by=None)
    return a, b, rows, clients, keys


def _db_state():
    """(backend pid, app.tenant_id, app.user_id) of the connection, outside any transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_backend_pid(), current_setting('app.tenant_id', true), "
            "current_setting('app.user_id', true)"
        )
        return cursor.fetchone()


@pytest.mark.urls("tests.crm.rls_urls")
def test_1000_requests_alternating_tenants_on_one_connection_see_no_foreign_row(
    as_app, two_shops_with_people
):
    a, b, rows, clients, keys = two_shops_with_people
    names = {a.pk: "Aonly", b.pk: "Bonly"}

    def page(tid):
        response = clients[tid].get("/customers/")
        assert response.status_code == 200
        html = response.content.decode()
        other = b.pk if tid == a.pk else a.pk
        return names[other] not in html and all(f"{names[tid]}{i}" in html for i in range(len(rows[tid])))

    def api(tid):
        response = clients[tid].get("/api/v1/customers/", HTTP_AUTHORIZATION=f"Bearer {keys[tid]}")
        assert response.status_code == 200, response.content[:300]
        return {row["id"] for row in response.json()["results"]} == rows[tid]

    def probe_session(tid):
        data = clients[tid].get("/rls-probe/").json()
        return data["orm"] == [tid] * len(rows[tid]) and data["raw"] == [tid] * len(rows[tid])

    def probe_key(tid):
        from django.test import Client

        # A key request without a session: the tenant comes from the key alone. The careless view is a
        # plain Django view, so the key is authenticated by hand as DRF would.
        data = Client().get("/rls-probe/", HTTP_AUTHORIZATION=f"Bearer {keys[tid]}").json()
        return data["orm"] == [] and data["raw"] == []  # no session, no DRF: no tenant, no rows

    kinds = [page, api, probe_session, probe_key]
    with as_app(conn_max_age=600):
        pid, tenant_setting, user_setting = _db_state()
        assert (tenant_setting or None, user_setting or None) == (None, None)
        failures = []
        for i in range(1000):
            tid = (a.pk, b.pk)[i % 2]
            kind = kinds[(i // 2) % len(kinds)]
            if not kind(tid):
                failures.append((i, kind.__name__, tid))
            # The settings were transaction-local: nothing carried over on the reused connection.
            state = _db_state()
            if state != (pid, state[1], state[2]) or state[1] or state[2]:
                failures.append((i, "leak", state))
        assert failures == []
        assert _db_state()[0] == pid  # one connection served all 1,000 requests


def test_1000_tasks_alternating_tenants_on_one_connection_see_no_foreign_row(as_app, two_shops):
    a, b, rows = two_shops

    @tenant_task
    def careless_task(tenant_id, *, multiplier=1):
        orm = list(Customer.objects.unscoped().values_list("tenant_id", flat=True))
        return orm, _tenant_ids_raw(), current_db_tenant()

    with as_app(conn_max_age=600):
        pid = _db_state()[0]
        failures = []
        for i in range(1000):
            tid = (a.pk, b.pk)[i % 2]
            orm, raw, active = careless_task(tid) if i % 4 < 2 else careless_task(tenant_id=tid)
            expected = [tid] * len(rows[tid])
            if orm != expected or raw != expected or active != tid:
                failures.append((i, tid, orm, raw, active))
            if _db_state()[1]:
                failures.append((i, "leak"))
        assert failures == []
        assert _db_state()[0] == pid


def test_every_task_with_a_tenant_id_sets_the_tenant(db):
    """A Celery task taking tenant_id runs as a tenant_task, or says it sets the tenant per transaction."""
    import inspect

    from crm import celery_app

    celery_app.loader.import_default_modules()
    unguarded = []
    for name, task in sorted(celery_app.tasks.items()):
        if name.startswith("celery."):
            continue
        params = list(inspect.signature(task.run).parameters)
        if "tenant_id" in params[:2] and params[0] != "tenant_id" and params[:1] != ["self"]:
            unguarded.append(f"{name}: tenant_id is not first")
        guarded = getattr(task.run, "tenant_task", False) or getattr(task, "multi_transaction", False)
        if "tenant_id" in params[:2] and not guarded:
            unguarded.append(name)
    assert unguarded == []


# --- the whole app as the application role --------------------------------------------------------------
CROSS_TENANT_REFERENCES = [
    # (table, column pointing at a customer) : a row's tenant must be its customer's tenant.
    ("customers_vehicle", "customer_id"),
    ("customers_purchase", "customer_id"),
    ("analytics_customerrfm", "customer_id"),
    ("analytics_customerltv", "customer_id"),
    ("reminders_reminder", "customer_id"),
    ("interactions_interaction", "customer_id"),
]


def _rows_per_tenant(table: str) -> dict[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tenant_id, count(*) FROM {table} GROUP BY tenant_id")
        return dict(cursor.fetchall())


def test_app_role_smoke_seed_plan_dispatch_analytics_import(as_app, tmp_path, mailoutbox):
    """Everything a deployment runs, as kizuna_app against a database migrated by the owner."""
    from analytics.tasks import refresh_tenant

    with as_app(conn_max_age=600):
        for slug in ("smoke-a", "smoke-b"):
            call_command("seed_demo", tenant=slug, customers=40, years=2, seed=7, stdout=_Sink())
        ids = dict(Tenant.objects.filter(slug__in=["smoke-a", "smoke-b"]).values_list("slug", "pk"))
        # Reminders may go out at any hour in this test.
        Tenant.objects.filter(pk__in=ids.values()).update(
            send_window_start=dt_time(0, 0), send_window_end=dt_time(23, 59)
        )
        call_command("compute_analytics", no_fit=True, stdout=_Sink())
        call_command("plan_reminders", stdout=_Sink())
        call_command("dispatch_reminders", stdout=_Sink(), stderr=_Sink())
        assert refresh_tenant(ids["smoke-a"]) != {}
        csv_file = tmp_path / "customers.csv"
        csv_file.write_text("family_name,given_name,email\n山本,一郎,ichiro@example.jp\n", encoding="utf-8")
        call_command(
            "import_csv", str(csv_file), tenant="smoke-b", kind="customers", stdout=_Sink(), stderr=_Sink()
        )
        # As the app role and with no tenant, none of it is visible.
        assert Customer.objects.unscoped().count() == 0

    # Checked as the superuser: both shops got their data, and no row points across tenants.
    customers = _rows_per_tenant("customers_customer")
    assert customers == {ids["smoke-a"]: 40, ids["smoke-b"]: 41}
    rfm = _rows_per_tenant("analytics_customerrfm")
    assert set(rfm) == set(ids.values())
    assert _rows_per_tenant("reminders_reminderrule").keys() == set(ids.values())
    with connection.cursor() as cursor:
        for table, column in CROSS_TENANT_REFERENCES:
            cursor.execute(
                f"SELECT count(*) FROM {table} t JOIN customers_customer c ON c.id = t.{column} "
                f"WHERE t.tenant_id <> c.tenant_id"
            )
            assert cursor.fetchone()[0] == 0, table


def test_replacement_scores_are_rewritten_in_place_as_the_app_role(as_app, two_shops):
    """The scores are staged in a temporary table (COPY) and updated, inserted and deleted from it: all
    allowed to the application role, each shop's rows only."""
    from datetime import date

    from opportunities.models import VehicleReplacementScore
    from opportunities.services import replacement_scores_refresh
    from tests.factories import PurchaseFactory, VehicleFactory

    a, b, _rows = two_shops
    cars = {}
    for shop in (a, b):
        with tenant_context(shop.pk):
            car = VehicleFactory(customer=CustomerFactory(tenant=shop), first_registration=date(2017, 3, 1))
            PurchaseFactory(
                customer=car.customer, vehicle=car, date=date(2017, 3, 1), category_code="new_car"
            )
            cars[shop.pk] = car
    with as_app():
        for shop in (a, b):
            with tenant_context(shop.pk):
                assert replacement_scores_refresh(tenant=shop, as_of=date(2026, 5, 1)) == 1
        with tenant_context(a.pk):
            first = VehicleReplacementScore.objects.for_tenant(a).get()
            newer = VehicleFactory(customer=CustomerFactory(tenant=a), first_registration=date(2024, 3, 1))
            PurchaseFactory(
                customer=newer.customer, vehicle=newer, date=date(2024, 3, 1), category_code="new_car"
            )
            assert replacement_scores_refresh(tenant=a, as_of=date(2026, 6, 1)) == 2
            kept = VehicleReplacementScore.objects.for_tenant(a).get(vehicle=cars[a.pk])
            assert kept.pk == first.pk and kept.scored_at > first.scored_at
            cars[a.pk].status = "sold"
            cars[a.pk].save()
            assert replacement_scores_refresh(tenant=a, as_of=date(2026, 6, 2)) == 1
    assert list(VehicleReplacementScore.objects.for_tenant(a).values_list("vehicle_id", flat=True)) == [
        newer.pk
    ]
    assert list(VehicleReplacementScore.objects.for_tenant(b).values_list("vehicle_id", flat=True)) == [
        cars[b.pk].pk
    ]


def test_streamed_csv_export_runs_in_the_tenant_of_the_request(as_app, two_shops_with_people):
    """The CSV body is produced after the view returned: it gets its own transaction with the same tenant."""
    a, b, rows, clients, keys = two_shops_with_people
    with as_app(conn_max_age=600):
        by_key = clients[a.pk].get("/api/v1/customers/export/", HTTP_AUTHORIZATION=f"Bearer {keys[b.pk]}")
        by_session = clients[a.pk].get("/api/v1/customers/export/")
        assert by_key.status_code == by_session.status_code == 200
        key_csv = b"".join(by_key.streaming_content).decode("utf-8-sig")
        session_csv = b"".join(by_session.streaming_content).decode("utf-8-sig")
        assert _db_state()[1] in (None, "")  # nothing left behind on the connection
    # The key decides the tenant, whatever the session says.
    assert len(key_csv.strip().splitlines()) == 1 + len(rows[b.pk])
    assert "Bonly" in key_csv and "Aonly" not in key_csv
    assert len(session_csv.strip().splitlines()) == 1 + len(rows[a.pk])
    assert "Aonly" in session_csv and "Bonly" not in session_csv


def test_public_unsubscribe_link_sets_its_tenant_from_the_signed_token(as_app, two_shops):
    from django.test import Client

    from customers.models import Consent
    from reminders.services import unsubscribe_token

    _, b, rows = two_shops
    target = min(rows[b.pk])
    token = unsubscribe_token(tenant_id=b.pk, customer_id=target)
    with as_app(conn_max_age=600):
        response = Client().post(f"/u/{token}/")
        assert response.status_code == 200
    assert Customer.objects.for_tenant(b).get(pk=target).consent == Consent.OPTED_OUT
    others = Customer.objects.unscoped().exclude(pk=target).values_list("consent", flat=True)
    assert Consent.OPTED_OUT not in set(others)


def test_login_and_password_reset_work_as_the_app_role(as_app, two_shops, mailoutbox):
    """Both run before any tenant is known: they touch only global tables (users, sessions, lockouts)."""
    from django.test import Client

    a, _, rows = two_shops
    user = UserFactory(email="staff@rls-a.test")
    MembershipFactory(tenant=a, user=user, role=Role.STAFF)
    with as_app(conn_max_age=600):
        client = Client()
        response = client.post("/accounts/login/", {"username": user.email, "password": "kizuna-test-pass-1"})
        assert response.status_code == 302
        page = client.get("/customers/")
        assert page.status_code == 200
        assert all(f"Aonly{i}" in page.content.decode() for i in range(len(rows[a.pk])))
        response = Client().post("/accounts/password_reset/", {"email": user.email})
        assert response.status_code == 302
    assert [m.to for m in mailoutbox] == [[user.email]]


def test_migrate_takes_only_credentials_and_server_from_the_owner_url(transactional_db, settings):
    from crm.tenancy.dbroles import as_owner

    conn = connections["default"]
    before = dict(conn.settings_dict)
    settings.DATABASE_OWNER_URL = "postgres://schema_owner:s3cret@db-direct:6543/some_other_name"
    with as_owner() as owner:
        assert owner == "schema_owner"
        assert (conn.settings_dict["USER"], conn.settings_dict["PASSWORD"]) == ("schema_owner", "s3cret")
        assert (conn.settings_dict["HOST"], conn.settings_dict["PORT"]) == ("db-direct", 6543)
        assert conn.settings_dict["NAME"] == before["NAME"]  # the application's (or test) database
    assert dict(conn.settings_dict) == before
    settings.DATABASE_OWNER_URL = ""
    with as_owner() as owner:
        assert owner is None
        assert dict(conn.settings_dict) == before


def test_line_webhook_and_link_page_set_their_tenant_from_the_url(as_app, two_shops):
    """The LINE webhook has no session: the signed URL key names the shop, whose secret (read under
    that shop's tenant) checks the signature; events and links then write only that shop's rows."""
    from django.test import Client

    from channels.crypto import encrypt_secret
    from channels.line_linking import link_token_make
    from channels.models import ChannelSettings, LineContact, LineWebhookEvent
    from interactions.models import Interaction
    from tests.channels.line.conftest import body_of, event, post_webhook, text_event
    from tests.fakes.line_api import line_user_id

    a, b, rows = two_shops
    for shop in (a, b):
        ChannelSettings.objects.create(
            tenant=shop,
            line_channel_secret_encrypted=encrypt_secret(f"secret-{shop.slug}"),
            line_basic_id="@x",
        )
    customer = min(rows[b.pk])
    linked, stranger = line_user_id("rls-linked"), line_user_id("rls-stranger")
    LineContact.objects.create(tenant=b, line_user_id=linked, customer_id=customer)
    with as_app(conn_max_age=600):
        body = body_of(text_event(linked, "こんにちは"), event("follow", stranger))
        assert post_webhook(b, body, secret="secret-rls-a").status_code == 401  # a's secret, b's URL
        assert post_webhook(b, body, secret="secret-rls-b").status_code == 200
        assert post_webhook(b, body, secret="secret-rls-b").status_code == 200  # replay: nothing twice
        token = link_token_make(tenant_id=b.pk, line_user_id=stranger)
        assert Client().post(f"/line/link/{token}/", {"code": "ZZZZ-ZZZZ"}).status_code == 400
    assert LineWebhookEvent.objects.for_tenant(b).count() == 2
    assert LineWebhookEvent.objects.for_tenant(a).count() == 0
    assert Interaction.objects.for_tenant(b).filter(customer_id=customer, summary="こんにちは").count() == 1
    assert LineContact.objects.for_tenant(b).count() == 2 and LineContact.objects.for_tenant(a).count() == 0
