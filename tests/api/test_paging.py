"""Cursor paging of every API list (issue #12): each row exactly once, however many rows share a timestamp.

A bulk import writes thousands of rows with one `updated_at`. DRF's CursorPagination put its cursor
on that one field and counted the ties with an offset it caps at 1,000, so past 1,000 ties the
same page came back forever. These tests plant 2,500 rows sharing one timestamp per paged endpoint
and walk them with several page sizes, following `next` (and `previous`) as a client would.
"""

from __future__ import annotations

import base64
import math
from datetime import UTC, date, datetime, timedelta
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.hashers import make_password
from django.core import signing
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.urls import resolve
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from analytics.models import CustomerRFM, Segment
from bookings.models import Booking, BookingSource
from crm.api.pagination import CURSOR_SALT
from crm.api_urls import router
from crm.models import AuditAction, AuditEvent, Membership, User
from crm.tenancy.roles import Role
from customers.models import (
    Customer,
    Household,
    ImportJob,
    ImportKind,
    Purchase,
    PurchaseCategory,
    ServiceKind,
    ServiceRecord,
    Vehicle,
)
from interactions.models import CallTask, Deal, Interaction
from opportunities.models import WorklistEntry
from reminders.models import Campaign, Reminder, ReminderRule, ReminderTemplate, RuleKind
from tests.factories import VehicleFactory, WorkTypeFactory

pytestmark = pytest.mark.django_db

ROWS = 2_500
PAGE_SIZES = (1, 7, 50, 500)
# What one bulk statement gives every row it writes: one timestamp, to the microsecond.
SHARED = datetime(2026, 11, 2, 9, 30, 15, 123456, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_throttle(settings):
    settings.KIZUNA_API_RATE = "100000000/min"


# --- planting 2,500 rows that share one timestamp ------------------------------------------------
def _customers(tenant, n, **fields):
    return [
        Customer(
            tenant=tenant,
            family_name="山田",
            given_name=f"太郎{i}",
            family_name_kana="ヤマダ",
            given_name_kana="タロウ",
            **fields,
        )
        for i in range(n)
    ]


def _one_customer(tenant):
    return Customer.objects.for_tenant(tenant).create(tenant=tenant, family_name="山田", given_name="花子")


def plant_customers(tenant):
    Customer.objects.bulk_create(_customers(tenant, ROWS))


def plant_households(tenant):
    Household.objects.bulk_create(Household(tenant=tenant, name=f"Household {i}") for i in range(ROWS))


def plant_vehicles(tenant):
    owner = _one_customer(tenant)
    Vehicle.objects.bulk_create(
        Vehicle(tenant=tenant, customer=owner, maker="トヨタ", model_name="プリウス", plate_number=f"品川{i}")
        for i in range(ROWS)
    )


def plant_purchases(tenant):
    buyer = _one_customer(tenant)
    category = PurchaseCategory.objects.for_tenant(tenant).get(code="parts")
    Purchase.objects.bulk_create(
        Purchase(tenant=tenant, customer=buyer, category=category, date=date(2025, 6, 1), amount=1_000 + i)
        for i in range(ROWS)
    )


def plant_service_records(tenant):
    car = VehicleFactory(customer=_one_customer(tenant), tenant=tenant)
    ServiceRecord.objects.bulk_create(
        ServiceRecord(
            tenant=tenant,
            customer=car.customer,
            vehicle=car,
            date=date(2025, 6, 1),
            kind=ServiceKind.OIL_CHANGE,
            amount=5_000,
        )
        for _ in range(ROWS)
    )


def plant_interactions(tenant):
    person = _one_customer(tenant)
    Interaction.objects.bulk_create(
        Interaction(tenant=tenant, customer=person, channel="phone", occurred_at=SHARED, summary=f"call {i}")
        for i in range(ROWS)
    )


def plant_deals(tenant):
    person = _one_customer(tenant)
    Deal.objects.bulk_create(Deal(tenant=tenant, customer=person, title=f"deal {i}") for i in range(ROWS))


def plant_call_tasks(tenant):
    person = _one_customer(tenant)
    CallTask.objects.bulk_create(
        CallTask(tenant=tenant, customer=person, due_date=date(2026, 11, 3), reason=f"call {i}")
        for i in range(ROWS)
    )


def _template(tenant):
    return ReminderTemplate.objects.for_tenant(tenant).create(
        tenant=tenant, name="paging", subject="件名", body="本文"
    )


def plant_reminder_templates(tenant):
    ReminderTemplate.objects.bulk_create(
        ReminderTemplate(tenant=tenant, name=f"template {i}", subject="件名", body="本文")
        for i in range(ROWS)
    )


def plant_reminder_rules(tenant):
    template = _template(tenant)
    ReminderRule.objects.bulk_create(
        ReminderRule(tenant=tenant, name=f"rule {i}", kind=RuleKind.BIRTHDAY, template=template)
        for i in range(ROWS)
    )


def plant_reminders(tenant):
    person = _one_customer(tenant)
    rule = ReminderRule.objects.for_tenant(tenant).create(
        tenant=tenant, name="birthday", kind=RuleKind.BIRTHDAY, template=_template(tenant)
    )
    Reminder.objects.bulk_create(
        Reminder(
            tenant=tenant,
            rule=rule,
            step=1,
            customer=person,
            occasion_date=date(2020, 1, 1) + timedelta(days=i),
            due_date=date(2026, 11, 3),
        )
        for i in range(ROWS)
    )


def plant_rfm(tenant):
    people = Customer.objects.bulk_create(_customers(tenant, ROWS))
    CustomerRFM.objects.bulk_create(
        CustomerRFM(
            tenant=tenant,
            customer=person,
            as_of=date(2026, 11, 1),
            computed_at=SHARED,
            segment=Segment.choices[0][0],
        )
        for person in people
    )


def plant_members(tenant):
    password = make_password(None)
    users = User.objects.bulk_create(
        User(email=f"member{i}@{tenant.slug}.test", password=password) for i in range(ROWS)
    )
    Membership.objects.bulk_create(Membership(tenant=tenant, user=user, role=Role.VIEWER) for user in users)


def plant_audit_events(tenant):
    AuditEvent.objects.bulk_create(
        AuditEvent(tenant=tenant, action=AuditAction.EXPORT_VIEWED, summary=f"event {i}") for i in range(ROWS)
    )


def plant_imports(tenant):
    ImportJob.objects.bulk_create(
        ImportJob(tenant=tenant, kind=ImportKind.CUSTOMERS, file=f"imports/{i}.csv") for i in range(ROWS)
    )


def ids_of(model, tenant, key="pk"):
    return set(model.objects.for_tenant(tenant).values_list(key, flat=True))


# list path: (planter, extra query params, model, the model field that is the row's id, the response
# key holding it)
def plant_bookings(tenant):
    person = _one_customer(tenant)
    work = WorkTypeFactory(tenant=tenant)
    Booking.objects.bulk_create(
        Booking(
            tenant=tenant,
            customer=person,
            work_type=work,
            starts_at=SHARED + timedelta(hours=i),
            ends_at=SHARED + timedelta(hours=i, minutes=60),
            source=BookingSource.PHONE,
        )
        for i in range(ROWS)
    )


def plant_campaigns(tenant):
    template = _template(tenant)
    hidden = ReminderRule.objects.bulk_create(
        ReminderRule(tenant=tenant, name=f"campaign {i}", kind=RuleKind.CAMPAIGN, template=template)
        for i in range(ROWS)
    )
    Campaign.objects.bulk_create(
        Campaign(tenant=tenant, name=f"campaign {i}", rule=rule, scheduled_for=SHARED)
        for i, rule in enumerate(hidden)
    )


def plant_worklist(tenant):
    people = Customer.objects.bulk_create(_customers(tenant, ROWS))
    WorklistEntry.objects.bulk_create(
        WorklistEntry(
            tenant=tenant, week=date(2026, 11, 2), rank=1, kind="leaving", customer=p, probability=0.5
        )
        for p in people
    )


ENDPOINTS = {
    "customers": (plant_customers, {}, Customer, "pk", "id"),
    "households": (plant_households, {}, Household, "pk", "id"),
    "vehicles": (plant_vehicles, {}, Vehicle, "pk", "id"),
    "purchases": (plant_purchases, {}, Purchase, "pk", "id"),
    "service-records": (plant_service_records, {}, ServiceRecord, "pk", "id"),
    "interactions": (plant_interactions, {}, Interaction, "pk", "id"),
    "deals": (plant_deals, {}, Deal, "pk", "id"),
    "call-tasks": (plant_call_tasks, {}, CallTask, "pk", "id"),
    "reminder-templates": (plant_reminder_templates, {}, ReminderTemplate, "pk", "id"),
    "reminder-rules": (plant_reminder_rules, {}, ReminderRule, "pk", "id"),
    "reminders": (plant_reminders, {}, Reminder, "pk", "id"),
    # RFM's default order is by customer (unique); ties come with a chosen order (every monetary is 0).
    "analytics/rfm": (plant_rfm, {"ordering": "-monetary"}, CustomerRFM, "customer_id", "customer"),
    "members": (plant_members, {}, Membership, "pk", "id"),
    "audit-events": (plant_audit_events, {}, AuditEvent, "pk", "id"),
    "imports": (plant_imports, {}, ImportJob, "pk", "id"),
    "bookings": (plant_bookings, {}, Booking, "pk", "id"),
    "campaigns": (plant_campaigns, {}, Campaign, "pk", "id"),
    "worklist": (plant_worklist, {"week": "2026-11-02"}, WorklistEntry, "pk", "id"),
}


def test_every_paged_endpoint_is_covered():
    paged = {prefix for prefix, viewset, _basename in router.registry if viewset.pagination_class is not None}
    assert paged == set(ENDPOINTS)


def plant(path, tenant):
    """Run the endpoint's planter with the clock stopped: every auto timestamp is SHARED."""
    with mock.patch.object(timezone, "now", return_value=SHARED):
        ENDPOINTS[path][0](tenant)


def _stuck(limit, seen):
    return f"paging did not end after {limit} pages ({len(seen)} rows, {len(set(seen))} distinct)"


def walk(client, url, params, *, limit, key="id", link="next"):
    """Follow `link` from the first page over HTTP; fail (instead of looping) after `limit` requests."""
    seen, pages, last = [], 0, None
    while url:
        pages += 1
        assert pages <= limit, _stuck(limit, seen)
        response = client.get(url, params)
        assert response.status_code == 200, response.content[:300]
        last = response.json()
        seen += [row[key] for row in last["results"]]
        url, params = last[link], None
    return seen, pages, last


def walk_viewset(path, params, *, tenant, user, limit, id_field="pk"):
    """The same walk through the endpoint's own viewset, queryset, ordering and paginator, without HTTP.

    At page size 1, 2,500 rows are 2,500 requests per endpoint; the middleware, authentication and
    serializer each of them would run decide nothing about which rows a page holds, and would make
    this file take a quarter of an hour. The cursor is read from each `next` link, as a client does.
    """
    viewset = resolve(f"/api/v1/{path}/").func.cls
    membership = Membership.objects.for_tenant(tenant).get(user=user)
    factory = APIRequestFactory()

    def request_for(query):
        request = factory.get(f"/api/v1/{path}/", query)
        request.user, request.tenant, request.membership = user, tenant, membership
        return Request(request)

    view = viewset(action="list", args=(), kwargs={}, format_kwarg=None, request=request_for(params))
    rows = view.get_queryset()  # the endpoint's scoped queryset, the same for every page
    seen, pages, query = [], 0, params
    while True:
        pages += 1
        assert pages <= limit, _stuck(limit, seen)
        view.request = request_for(query)
        paginator = viewset.pagination_class()
        seen += [getattr(row, id_field) for row in paginator.paginate_queryset(rows, view.request, view)]
        link = paginator.get_next_link()
        if link is None:
            return seen, pages
        query = {name: values[0] for name, values in parse_qs(urlsplit(link).query).items()}


def walk_all_sizes(path, params, *, tenant, owner, owner_api, expected, key, id_field, sizes=PAGE_SIZES):
    """Every page size: each row once, the expected number of pages, and an end (no `next`)."""
    for size in sizes:
        pages_needed = math.ceil(len(expected) / size)
        query = {**params, "page_size": size}
        if size >= 50:  # over HTTP, with the API's own links
            seen, pages, last = walk(owner_api, f"/api/v1/{path}/", query, limit=pages_needed + 1, key=key)
            assert last["next"] is None
        else:
            seen, pages = walk_viewset(
                path, query, tenant=tenant, user=owner, limit=pages_needed + 1, id_field=id_field
            )
        assert len(seen) == len(set(seen)), (size, "a row came twice")
        assert set(seen) == expected, (size, len(seen), len(expected))
        assert pages == pages_needed, size


@pytest.mark.parametrize("path", ENDPOINTS)
def test_every_list_pages_through_rows_sharing_one_timestamp_exactly_once(path, tenant, owner, owner_api):
    _planter, params, model, id_field, key = ENDPOINTS[path]
    plant(path, tenant)
    expected = ids_of(model, tenant, id_field)
    assert len(expected) >= ROWS

    walk_all_sizes(
        path,
        params,
        tenant=tenant,
        owner=owner,
        owner_api=owner_api,
        expected=expected,
        key=key,
        id_field=id_field,
    )


def plant_customers_with_nullable_ties(tenant, n=300):
    # A third without a birthday, the rest on two dates; two furigana: every (birthday, kana) ties.
    rows = _customers(tenant, n)
    for i, row in enumerate(rows):
        row.birthday = (None, date(1980, 4, 1), date(1975, 12, 31))[i % 3]
        row.family_name_kana = ("ヤマダ", "アベ")[i % 2]
    with mock.patch.object(timezone, "now", return_value=SHARED):
        Customer.objects.bulk_create(rows)


@pytest.mark.parametrize(
    ("ordering", "order_by"),
    [
        ("birthday", [F("birthday").asc(nulls_last=True), "id"]),
        ("-birthday", [F("birthday").desc(nulls_first=True), "-id"]),
        ("birthday,-family_name_kana", [F("birthday").asc(nulls_last=True), "-family_name_kana", "-id"]),
        ("-family_name_kana,birthday", ["-family_name_kana", F("birthday").asc(nulls_last=True), "id"]),
    ],
)
def test_a_chosen_order_with_nulls_and_mixed_directions_pages_in_that_order(
    ordering, order_by, tenant, owner, owner_api
):
    plant_customers_with_nullable_ties(tenant)
    # NULL sorts after every date, as PostgreSQL sorts it; the id breaks ties in the last key's direction.
    expected = list(Customer.objects.for_tenant(tenant).order_by(*order_by).values_list("pk", flat=True))

    walk_all_sizes(
        "customers",
        {"ordering": ordering},
        tenant=tenant,
        owner=owner,
        owner_api=owner_api,
        expected=set(expected),
        key="id",
        id_field="pk",
        sizes=(1, 7, 50),
    )
    seen, _pages, _last = walk(
        owner_api, "/api/v1/customers/", {"ordering": ordering, "page_size": 50}, limit=7
    )
    assert seen == expected


@pytest.mark.parametrize(
    ("path", "params", "planter"),
    [
        ("customers", {}, plant_customers),  # (updated_at, id): the row-value comparison
        ("customers", {"ordering": "-birthday,family_name_kana"}, plant_customers_with_nullable_ties),
        ("audit-events", {}, plant_audit_events),  # (-created_at, -id)
    ],
)
def test_previous_links_walk_back_over_the_same_rows(path, params, planter, tenant, owner_api):
    with mock.patch.object(timezone, "now", return_value=SHARED):
        planter(tenant)
    forward, _pages, last = walk(owner_api, f"/api/v1/{path}/", {**params, "page_size": 200}, limit=14)

    # From the last page back to the first, each page in the list's own order.
    backward = [row["id"] for row in last["results"]]
    url, pages = last["previous"], 1
    while url:
        pages += 1
        assert pages <= 14, "previous links did not end"
        page = owner_api.get(url).json()
        backward = [row["id"] for row in page["results"]] + backward
        assert page["next"] is not None
        url = page["previous"]

    assert backward == forward
    assert len(set(forward)) == len(forward) == len(ids_of(ENDPOINTS[path][2], tenant))


def test_rows_changed_while_paging_come_once_and_again_in_the_next_sync(tenant, api):
    plant("customers", tenant)
    everyone = ids_of(Customer, tenant)
    order = sorted(everyone)  # one updated_at: the id decides the order
    seen_then_changed, changed_before_reached = order[:3], order[-3:]

    seen, received, url, params, pages = [], [], "/api/v1/customers/", {"page_size": 100}, 0
    newcomer = None
    while url:
        pages += 1
        assert pages <= 30, _stuck(30, seen)
        page = api.get(url, params).json()
        seen += [row["id"] for row in page["results"]]
        received += [datetime.fromisoformat(row["updated_at"]) for row in page["results"]]
        url, params = page["next"], None
        if pages == 2:  # a till writes while the integration syncs
            for pk in seen_then_changed + changed_before_reached:
                response = api.patch(f"/api/v1/customers/{pk}/", {"given_name": "変更"}, format="json")
                assert response.status_code == 200, response.content
            newcomer = api.post("/api/v1/customers/", {"family_name": "新規"}, format="json").json()["id"]

    # This walk: no row twice, and every row that did not change exactly once. A changed row moved
    # beyond the walk's bound: it was seen at its old place if reached before the change, else not.
    assert len(seen) == len(set(seen))
    assert set(seen) == everyone - set(changed_before_reached)
    assert newcomer not in seen

    # The next sync starts at the greatest updated_at received (inclusive) and brings every change.
    since = max(received)
    assert since == SHARED
    resync, url, params, pages = (
        {},
        "/api/v1/customers/",
        {"updated_since": since.isoformat(), "page_size": 500},
        0,
    )
    while url:
        pages += 1
        assert pages <= 10, _stuck(10, resync)
        page = api.get(url, params).json()
        for row in page["results"]:
            assert row["id"] not in resync, "a row came twice"
            resync[row["id"]] = row
        url, params = page["next"], None
    for pk in seen_then_changed + changed_before_reached:
        assert resync[pk]["given_name"] == "変更"
    assert newcomer in resync
    assert set(seen) | set(resync) == ids_of(Customer, tenant)


def _token(payload):
    return signing.dumps(payload, salt=CURSOR_SALT)


def _customers_cursor(position, **overrides):
    payload = {
        "m": "customers.customer",
        "o": ["updated_at", "id"],
        "p": position,
        "r": False,
        "i": False,
        "u": "2026-11-02T09:30:15.123456+00:00",
        **overrides,
    }
    return _token(payload)


INVALID_CURSORS = {
    "garbage": "garbage",
    "not ascii": "カーソル",
    "drf offset cursor": base64.b64encode(b"o=1001").decode(),
    "signed, then changed": None,  # filled in from a real `next` link in the test
    "another salt": signing.dumps({"p": [1]}, salt="elsewhere"),
    "not an object": _token([1, 2]),
    "missing fields": _token({"p": ["2026-11-02T09:30:15.123456+00:00", 1]}),
    "too long": "x" * 5_000,
    "id out of range": _customers_cursor(["2026-11-02T09:30:15.123456+00:00", 2**70]),
    "id not a number": _customers_cursor(["2026-11-02T09:30:15.123456+00:00", "1"]),
    "id a float": _customers_cursor(["2026-11-02T09:30:15.123456+00:00", 1.5]),
    "id a bool": _customers_cursor(["2026-11-02T09:30:15.123456+00:00", True]),
    "id null": _customers_cursor(["2026-11-02T09:30:15.123456+00:00", None]),
    "year 10000": _customers_cursor(["10000-01-01T00:00:00.000000+00:00", 1]),
    "naive time": _customers_cursor(["2026-11-02T09:30:15.123456", 1]),
    "not utc": _customers_cursor(["2026-11-02T18:30:15.123456+09:00", 1]),
    "time a number": _customers_cursor([1_700_000_000, 1]),
    "one value": _customers_cursor([1]),
    "three values": _customers_cursor(["2026-11-02T09:30:15.123456+00:00", 1, 2]),
    "bound missing": _customers_cursor(["2026-11-02T09:30:15.123456+00:00", 1], u=None),
    "bound garbage": _customers_cursor(["2026-11-02T09:30:15.123456+00:00", 1], u="yesterday"),
    "direction not a bool": _customers_cursor(["2026-11-02T09:30:15.123456+00:00", 1], r="yes"),
    "another list": _customers_cursor(["2026-11-02T09:30:15.123456+00:00", 1], m="customers.vehicle"),
    "another ordering": _customers_cursor(["1980-04-01", 1], o=["birthday", "id"]),
}


@pytest.mark.parametrize("case", INVALID_CURSORS)
def test_a_forged_garbled_or_out_of_range_cursor_is_a_400(case, tenant, api):
    plant_customers_with_nullable_ties(tenant, n=3)
    cursor = INVALID_CURSORS[case]
    if cursor is None:
        link = api.get("/api/v1/customers/", {"page_size": 1}).json()["next"]
        real = parse_qs(urlsplit(link).query)["cursor"][0]
        cursor = real[:-1] + ("A" if real[-1] != "A" else "B")

    response = api.get("/api/v1/customers/", {"cursor": cursor}, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400, response.content[:300]
    (message,) = response.json()["cursor"]
    assert message.startswith(("Invalid cursor:", "This cursor belongs to another list or ordering"))


def test_a_sync_bound_on_a_list_without_updated_at_is_a_400(tenant, owner_api):
    cursor = _token(
        {
            "m": "crm.auditevent",
            "o": ["-created_at", "-id"],
            "p": [SHARED.isoformat(), 1],
            "r": False,
            "i": False,
        }
        | {"u": SHARED.isoformat()}
    )

    response = owner_api.get("/api/v1/audit-events/", {"cursor": cursor}, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    assert response.json()["cursor"][0].startswith("Invalid cursor:")


def test_a_cursor_of_one_ordering_is_refused_by_another(tenant, api):
    plant_customers_with_nullable_ties(tenant, n=3)
    link = api.get("/api/v1/customers/", {"page_size": 1, "ordering": "birthday"}).json()["next"]
    cursor = parse_qs(urlsplit(link).query)["cursor"][0]

    response = api.get("/api/v1/customers/", {"cursor": cursor}, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    assert response.json() == {
        "cursor": ["This cursor belongs to another list or ordering: start again without a cursor."]
    }
    assert api.get(link).status_code == 200


def test_an_empty_cursor_is_the_first_page(tenant, api):
    plant_customers_with_nullable_ties(tenant, n=3)
    first = api.get("/api/v1/customers/").json()
    assert api.get("/api/v1/customers/", {"cursor": ""}).json() == first


def test_after_the_rest_of_the_list_is_deleted_the_links_still_lead_back(tenant, api):
    plant_customers_with_nullable_ties(tenant, n=12)
    first = api.get("/api/v1/customers/", {"page_size": 10}).json()
    Customer.objects.for_tenant(tenant).exclude(pk__in=[row["id"] for row in first["results"]]).delete()

    empty = api.get(first["next"]).json()
    assert empty["results"] == [] and empty["next"] is None
    back = api.get(empty["previous"]).json()
    assert [row["id"] for row in back["results"]] == [row["id"] for row in first["results"]]
    assert back["previous"] is None


@pytest.mark.parametrize("path", ["customers", "vehicles", "audit-events"])
def test_each_page_takes_the_same_number_of_queries(path, tenant, owner_api):
    plant(path, tenant)
    url, counts = f"/api/v1/{path}/", []
    params = {"page_size": 50}
    owner_api.get(url)  # a session's first request also stores its chosen shop: not the list's cost
    for _ in range(3):
        with CaptureQueriesContext(connection) as ctx:
            page = owner_api.get(url, params).json()
        counts.append(len(ctx))
        url, params = page["next"], None
    assert counts[0] == counts[2], counts
    assert counts[1] == counts[2], counts


def test_the_cursor_error_is_translated(tenant, api):
    response = api.get("/api/v1/customers/", {"cursor": "garbage"}, HTTP_ACCEPT_LANGUAGE="ja")

    assert response.status_code == 400
    assert response.json() == {
        "cursor": [
            "カーソルが不正です。API が返した next または previous のリンクをそのまま使うか、"
            "カーソルなしで最初からやり直してください。"
        ]
    }
