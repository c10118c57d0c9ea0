"""Reminder rules, templates and outbox; analytics figures: roles and tenant isolation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from analytics.models import CustomerRFM
from analytics.services import analytics_refresh_tenant
from reminders.models import Reminder, ReminderRule, ReminderStatus, ReminderTemplate
from reminders.services import reminder_defaults_create
from tests.analytics.helpers import build_shop
from tests.api.conftest import session_client
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

AS_OF = date(2025, 6, 30)
ROWS = [(0, 10, 30_000, "purchase"), (0, 200, 80_000, "service"), (1, 400, 2_000_000, "purchase")]


@pytest.fixture
def rules(tenant, other_tenant):
    return reminder_defaults_create(tenant=tenant), reminder_defaults_create(tenant=other_tenant)


def _reminder(tenant, rule, status=ReminderStatus.PENDING):
    today = timezone.localdate()
    return Reminder.objects.create(
        tenant=tenant,
        rule=rule,
        step=1,
        customer=CustomerFactory(tenant=tenant),
        occasion_date=today + timedelta(days=30),
        due_date=today,
        status=status,
    )


# --- templates and rules ----------------------------------------------------------------------------
def test_manager_creates_a_rule_with_offsets_and_staff_cannot(tenant, manager, staff_api, rules):
    template = ReminderTemplate.objects.for_tenant(tenant).first()
    body = {"name": "車検 早め", "kind": "inspection", "template": template.pk, "offsets": [-120, -60]}

    refused = staff_api.post("/api/v1/reminder-rules/", body, format="json")
    created = session_client(manager).post("/api/v1/reminder-rules/", body, format="json")

    assert refused.status_code == 403
    assert created.status_code == 201, created.content
    assert created.json()["offsets"] == [-120, -60]
    rule = ReminderRule.objects.for_tenant(tenant).get(pk=created.json()["id"])
    assert list(rule.steps.order_by("step").values_list("offset_days", flat=True)) == [-120, -60]


def test_rule_cannot_use_another_tenants_template(tenant, other_tenant, manager, rules):
    theirs = ReminderTemplate.objects.for_tenant(other_tenant).first()
    before = ReminderRule.objects.for_tenant(tenant).count()

    response = session_client(manager).post(
        "/api/v1/reminder-rules/", {"name": "x", "kind": "birthday", "template": theirs.pk}, format="json"
    )

    assert response.status_code == 400
    assert "template" in response.json()
    assert ReminderRule.objects.for_tenant(tenant).count() == before


def test_invalid_template_syntax_is_a_field_error(manager, rules):
    response = session_client(manager).post(
        "/api/v1/reminder-templates/",
        {"name": "壊れた", "language": "ja", "subject": "{{ customer_name ", "body": "x"},
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()) == ["subject"]


def test_template_in_use_cannot_be_deleted(tenant, manager, rules):
    template = ReminderRule.objects.for_tenant(tenant).first().template

    response = session_client(manager).delete(f"/api/v1/reminder-templates/{template.pk}/")

    assert response.status_code == 409
    assert ReminderTemplate.objects.for_tenant(tenant).filter(pk=template.pk).exists()


@pytest.mark.parametrize("path", ["reminder-rules", "reminder-templates"])
def test_rules_and_templates_of_other_tenant_are_404(path, tenant, other_tenant, other_owner_api, rules):
    model = ReminderRule if path == "reminder-rules" else ReminderTemplate
    mine = model.objects.for_tenant(tenant).first()
    url = f"/api/v1/{path}/{mine.pk}/"

    assert other_owner_api.get(url).status_code == 404
    assert other_owner_api.patch(url, {"name": "盗"}, format="json").status_code == 404
    assert other_owner_api.delete(url).status_code == 404
    assert model.objects.for_tenant(tenant).get(pk=mine.pk).name == mine.name
    listed = {r["id"] for r in other_owner_api.get(f"/api/v1/{path}/").json()["results"]}
    assert mine.pk not in listed


# --- the outbox -------------------------------------------------------------------------------------
def test_staff_key_cancels_a_planned_reminder_once(tenant, api, rules):
    reminder = _reminder(tenant, rules[0][0])

    cancelled = api.post(f"/api/v1/reminders/{reminder.pk}/cancel/")
    again = api.post(f"/api/v1/reminders/{reminder.pk}/cancel/")

    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "skipped"
    assert again.status_code == 409
    assert Reminder.objects.for_tenant(tenant).get(pk=reminder.pk).status == ReminderStatus.SKIPPED


def test_sent_reminders_cannot_be_cancelled_and_read_keys_cannot_cancel(tenant, api, read_api, rules):
    sent = _reminder(tenant, rules[0][0], status=ReminderStatus.SENT)
    planned = _reminder(tenant, rules[0][0])

    assert api.post(f"/api/v1/reminders/{sent.pk}/cancel/").status_code == 409
    assert read_api.post(f"/api/v1/reminders/{planned.pk}/cancel/").status_code == 403
    assert Reminder.objects.for_tenant(tenant).get(pk=planned.pk).status == ReminderStatus.PENDING


def test_reminders_of_other_tenant_are_404_and_never_listed(tenant, other_api, rules):
    reminder = _reminder(tenant, rules[0][0])

    assert other_api.get(f"/api/v1/reminders/{reminder.pk}/").status_code == 404
    assert other_api.post(f"/api/v1/reminders/{reminder.pk}/cancel/").status_code == 404
    assert other_api.get("/api/v1/reminders/").json()["results"] == []
    assert Reminder.objects.for_tenant(tenant).get(pk=reminder.pk).status == ReminderStatus.PENDING


def test_reminders_cannot_be_written_directly(tenant, api, rules):
    reminder = _reminder(tenant, rules[0][0])

    assert api.delete(f"/api/v1/reminders/{reminder.pk}/").status_code == 405
    assert (
        api.patch(f"/api/v1/reminders/{reminder.pk}/", {"status": "sent"}, format="json").status_code == 405
    )


def test_reminder_shows_its_channel_control_group_and_first_open_and_click(tenant, api, other_api, rules):
    opened = datetime(2026, 5, 1, 1, 0, tzinfo=UTC)
    clicked = datetime(2026, 5, 1, 2, 30, 15, tzinfo=UTC)
    on_line = _reminder(tenant, rules[0][0], status=ReminderStatus.SENT)
    Reminder.objects.for_tenant(tenant).filter(pk=on_line.pk).update(
        channel="line", opened_at=opened, clicked_at=clicked
    )
    held_out = _reminder(tenant, rules[0][0], status=ReminderStatus.HELD_OUT)
    planned = _reminder(tenant, rules[0][0])
    theirs = _reminder(rules[1][0].tenant, rules[1][0], status=ReminderStatus.HELD_OUT)

    one = api.get(f"/api/v1/reminders/{on_line.pk}/").json()
    control = api.get("/api/v1/reminders/", {"status": "held_out"}).json()["results"]
    by_line = api.get("/api/v1/reminders/", {"channel": "line"}).json()["results"]
    other_control = other_api.get("/api/v1/reminders/", {"status": "held_out"}).json()["results"]

    assert one["channel"] == "line"
    assert one["status"] == "sent"
    assert one["opened_at"] == "2026-05-01T10:00:00+09:00"  # the shop's time zone, Asia/Tokyo
    assert one["clicked_at"] == "2026-05-01T11:30:15+09:00"
    assert [(r["id"], r["status"], r["channel"], r["opened_at"]) for r in control] == [
        (held_out.pk, "held_out", "", None)
    ]
    assert [r["id"] for r in by_line] == [on_line.pk]
    assert api.get(f"/api/v1/reminders/{planned.pk}/").json()["clicked_at"] is None
    # The other shop sees only its own control group, never this shop's rows.
    assert [r["id"] for r in other_control] == [theirs.pk]
    assert other_api.get(f"/api/v1/reminders/{on_line.pk}/").status_code == 404


def test_channel_and_first_open_click_cannot_be_written(tenant, api, rules):
    reminder = _reminder(tenant, rules[0][0])
    body = {"channel": "line", "opened_at": "2025-01-01T00:00:00Z", "status": "held_out"}

    assert api.patch(f"/api/v1/reminders/{reminder.pk}/", body, format="json").status_code == 405
    assert api.put(f"/api/v1/reminders/{reminder.pk}/", body, format="json").status_code == 405
    row = Reminder.objects.for_tenant(tenant).get(pk=reminder.pk)
    assert (row.channel, row.opened_at, row.status) == ("", None, ReminderStatus.PENDING)


def test_schema_marks_channel_and_first_open_click_read_only_and_lists_held_out(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    reminder = schema["components"]["schemas"]["Reminder"]["properties"]

    for field in ("channel", "opened_at", "clicked_at", "status"):
        assert reminder[field].get("readOnly") is True, field
    status_enum = next(
        s
        for name, s in schema["components"]["schemas"].items()
        if name.endswith("StatusEnum") and "held_out" in s.get("enum", [])
    )
    assert set(status_enum["enum"]) == {
        "pending",
        "queued",
        "sending",
        "sent",
        "failed",
        "call_task",
        "skipped",
        "held_out",
    }
    params = {p["name"] for p in schema["paths"]["/api/v1/reminders/"]["get"]["parameters"]}
    assert {"status", "channel"} <= params


# --- analytics ---------------------------------------------------------------------------------------
@pytest.fixture
def shops(tenant, other_tenant):
    _t, customers, _f = build_shop(4, ROWS, tenant=tenant)
    _o, other_customers, _g = build_shop(3, ROWS, tenant=other_tenant)
    analytics_refresh_tenant(tenant=tenant, as_of=AS_OF, fit=False)
    analytics_refresh_tenant(tenant=other_tenant, as_of=AS_OF, fit=False)
    return customers, other_customers


def test_rfm_per_customer_is_the_tenants_own(tenant, api, other_api, shops):
    customers, _other_customers = shops

    listed = api.get("/api/v1/analytics/rfm/", {"page_size": 100}).json()["results"]
    one = api.get(f"/api/v1/analytics/rfm/{customers[0].pk}/")

    assert sorted(r["customer"] for r in listed) == sorted(c.pk for c in customers)
    assert one.status_code == 200
    assert one.json()["segment"] == CustomerRFM.objects.for_tenant(tenant).get(customer=customers[0]).segment
    assert other_api.get(f"/api/v1/analytics/rfm/{customers[0].pk}/").status_code == 404


def test_rfm_filter_by_segment_and_customers_by_segment_agree(tenant, api, shops):
    segment = CustomerRFM.objects.for_tenant(tenant).values_list("segment", flat=True).first()
    expected = sorted(
        CustomerRFM.objects.for_tenant(tenant).filter(segment=segment).values_list("customer_id", flat=True)
    )

    rfm = api.get("/api/v1/analytics/rfm/", {"segment": segment, "page_size": 100}).json()["results"]
    customers = api.get("/api/v1/customers/", {"segment": segment, "page_size": 100}).json()["results"]

    assert sorted(r["customer"] for r in rfm) == expected
    assert sorted(c["id"] for c in customers) == expected


@pytest.mark.parametrize("path", ["segments/", "kpi/?months=12", "conversion/", "cohorts/?months=12"])
def test_member_figures_answer_for_keys_and_count_only_the_tenant(path, tenant, read_api, shops):
    response = read_api.get(f"/api/v1/analytics/{path}")

    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"


def test_segment_summary_counts_only_the_tenants_customers(read_api, shops):
    customers, _other = shops

    segments = read_api.get("/api/v1/analytics/segments/").json()["segments"]

    assert sum(s["customers"] for s in segments) == len(customers)


@pytest.mark.parametrize(
    "path", ["migration/?from_month=2025-05&to_month=2025-06", "ltv/channels/", "ltv/segments/"]
)
def test_manager_figures_are_for_managers_only(path, manager, staff_api, api, shops):
    assert staff_api.get(f"/api/v1/analytics/{path}").status_code == 403
    assert api.get(f"/api/v1/analytics/{path}").status_code == 403
    assert session_client(manager).get(f"/api/v1/analytics/{path}").status_code == 200


def test_customer_ltv_of_other_tenant_is_404(manager, other_tenant, shops):
    customers, other_customers = shops
    client = session_client(manager)

    assert client.get(f"/api/v1/analytics/ltv/customers/{other_customers[0].pk}/").status_code == 404
    assert client.get(f"/api/v1/analytics/ltv/customers/{customers[0].pk}/").status_code == 200


def test_kpi_for_one_staff_member_needs_a_manager_and_a_member(manager, staff, api, shops):
    manager_client = session_client(manager)

    assert api.get("/api/v1/analytics/kpi/", {"staff": staff.pk}).status_code == 403
    assert manager_client.get("/api/v1/analytics/kpi/", {"staff": staff.pk}).status_code == 200
    assert manager_client.get("/api/v1/analytics/kpi/", {"staff": 999_999}).status_code == 400
