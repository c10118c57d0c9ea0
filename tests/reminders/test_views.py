"""Dashboard pages of reminders: who may read and write, and no cross-tenant access."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail import EmailMessage
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from crm.common.mail import OutboxEmailBackend
from customers.models import Consent
from interactions.models import CallTask
from reminders.models import ReminderRule, ReminderStatus, ReminderTemplate
from reminders.services import reminder_defaults_create, unsubscribe_token
from tests.factories import CallTaskFactory, CustomerFactory, VehicleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def a_rule(rules):
    return rules["inspection"]


@pytest.mark.parametrize(
    "name",
    ["reminders:index", "reminders:rules", "reminders:templates", "reminders:call_tasks", "reminders:outbox"],
)
def test_every_member_can_read_the_pages(viewer_client, rules, name):
    assert viewer_client.get(reverse(name)).status_code == 200


def test_another_tenants_rule_and_template_are_404(other_client, a_rule):
    assert other_client.get(reverse("reminders:rule_edit", args=[a_rule.pk])).status_code == 404
    assert other_client.get(reverse("reminders:template_edit", args=[a_rule.template_id])).status_code == 404
    assert (
        other_client.post(reverse("reminders:rule_edit", args=[a_rule.pk]), {"name": "x"}).status_code == 404
    )


def _rule_post(rule, **changes):
    data = {
        "name": rule.name,
        "kind": rule.kind,
        "template": rule.template_id,
        "is_active": "on",
        "season_months": "",
        "season_day": 1,
        "audience_segment": "",
        "audience_tag": "",
        "offsets": "-60,-30",
        "holdout_percent": 0,
        "attribution_days": 60,
    }
    data.update(changes)
    return data


def test_manager_edits_a_rule_and_its_steps(manager_client, tenant, a_rule):
    response = manager_client.post(
        reverse("reminders:rule_edit", args=[a_rule.pk]), _rule_post(a_rule, name="車検")
    )

    assert response.status_code == 302
    a_rule.refresh_from_db()
    assert a_rule.name == "車検"
    assert list(a_rule.steps.values_list("step", "offset_days")) == [(1, -60), (2, -30)]


@pytest.mark.parametrize("client_name", ["viewer_client", "staff_client"])
def test_viewer_and_staff_cannot_change_rules_or_templates(request, client_name, a_rule):
    client = request.getfixturevalue(client_name)

    assert (
        client.post(
            reverse("reminders:rule_edit", args=[a_rule.pk]), _rule_post(a_rule, name="x")
        ).status_code
        == 403
    )
    assert client.post(reverse("reminders:template_create"), {"name": "x"}).status_code == 403
    a_rule.refresh_from_db()
    assert a_rule.name == "車検のご案内"


def test_a_rule_cannot_use_another_tenants_template(manager_client, tenant, other_tenant, a_rule):
    foreign = reminder_defaults_create(tenant=other_tenant)[0].template

    response = manager_client.post(
        reverse("reminders:rule_edit", args=[a_rule.pk]), _rule_post(a_rule, template=foreign.pk)
    )

    assert response.status_code == 200
    a_rule.refresh_from_db()
    assert a_rule.template_id != foreign.pk


def test_invalid_template_is_shown_with_line_and_reason_and_not_saved(manager_client, tenant, rules):
    response = manager_client.post(
        reverse("reminders:template_create"),
        {
            "name": "新規",
            "language": "ja",
            "subject": "件名",
            "body": "一行目\n{{ customer_name.__class__ }}",
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 200
    assert "Line 2: " in response.content.decode()
    assert not ReminderTemplate.objects.for_tenant(tenant).filter(name="新規").exists()


def test_template_preview_for_a_chosen_customer(manager_client, tenant, a_rule):
    customer = CustomerFactory(tenant=tenant, family_name="佐藤", given_name="花子")
    VehicleFactory(customer=customer, plate_number="品川 500 あ 11-22")

    response = manager_client.get(
        reverse("reminders:template_edit", args=[a_rule.template_id]), {"customer": customer.pk}
    )

    body = response.content.decode()
    assert "佐藤 花子 様" in body
    assert "車検のご案内（品川 500 あ 11-22）" in body


def test_preview_of_another_tenants_customer_is_404(manager_client, other_tenant, a_rule):
    stranger = CustomerFactory(tenant=other_tenant)
    response = manager_client.get(
        reverse("reminders:template_edit", args=[a_rule.template_id]), {"customer": stranger.pk}
    )
    assert response.status_code == 404


def test_queue_filters_by_status(staff_client, tenant, rules, on):
    from reminders.planner import plan_reminders

    VehicleFactory(customer__tenant=tenant, inspection_expiry=on + timedelta(days=30))
    plan_reminders(on=on)

    pending = staff_client.get(reverse("reminders:index"), {"status": ReminderStatus.PENDING})
    failed = staff_client.get(reverse("reminders:index"), {"status": ReminderStatus.FAILED})

    assert len(pending.context["page"]) == 1
    assert len(failed.context["page"]) == 0


def test_staff_marks_a_call_task_done_but_not_another_tenants(
    staff_client, viewer_client, tenant, other_tenant
):
    mine = CallTaskFactory(tenant=tenant, customer=CustomerFactory(tenant=tenant))
    theirs = CallTaskFactory(tenant=other_tenant, customer=CustomerFactory(tenant=other_tenant))

    assert viewer_client.post(reverse("reminders:call_tasks"), {"task": mine.pk}).status_code == 403
    assert staff_client.post(reverse("reminders:call_tasks"), {"task": theirs.pk}).status_code == 404
    assert (
        staff_client.post(reverse("reminders:call_tasks"), {"task": mine.pk, "summary": "留守電"}).status_code
        == 302
    )

    assert CallTask.objects.for_tenant(tenant).get(pk=mine.pk).status == "done"
    assert CallTask.objects.for_tenant(other_tenant).get(pk=theirs.pk).status == "open"


def test_outbox_shows_only_the_active_tenants_messages(staff_client, other_client, settings):
    backend = OutboxEmailBackend()
    for slug, subject in (("shop-a", "ours"), ("shop-b", "theirs")):
        backend.send_messages(
            [
                EmailMessage(
                    subject=subject, body="本文", to=["x@example.jp"], headers={"X-Kizuna-Tenant": slug}
                )
            ]
        )
    ours = next(p.name for p in settings.OUTBOX_DIR.glob("*.eml") if b"Subject: ours" in p.read_bytes())

    listing = staff_client.get(reverse("reminders:outbox"))
    detail = staff_client.get(reverse("reminders:outbox"), {"m": ours})

    assert [m["subject"] for m in listing.context["items"]] == ["ours"]
    assert detail.context["chosen"]["body"].strip() == "本文"
    assert other_client.get(reverse("reminders:outbox"), {"m": ours}).status_code == 404
    assert staff_client.get(reverse("reminders:outbox"), {"m": "../../etc/passwd"}).status_code == 404


# --- unsubscribe --------------------------------------------------------------------------------
def test_unsubscribe_link_records_the_opt_out_with_time_and_source_without_login(tenant):
    customer = CustomerFactory(tenant=tenant, consent=Consent.OPTED_IN, consent_at=timezone.now())
    url = reverse("unsubscribe", args=[unsubscribe_token(tenant_id=tenant.pk, customer_id=customer.pk)])
    client = Client(enforce_csrf_checks=True)  # RFC 8058: the mail client POSTs with no CSRF token

    confirm = client.get(url)
    customer.refresh_from_db()
    assert confirm.status_code == 200 and customer.consent == Consent.OPTED_IN  # GET alone changes nothing

    response = client.post(url, {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.consent == Consent.OPTED_OUT
    assert customer.consent_source == "unsubscribe link"
    assert abs((timezone.now() - customer.opted_out_at).total_seconds()) < 60


def test_tampered_unsubscribe_token_is_rejected_and_changes_nothing(tenant):
    customer = CustomerFactory(tenant=tenant, consent=Consent.OPTED_IN, consent_at=timezone.now())
    token = unsubscribe_token(tenant_id=tenant.pk, customer_id=customer.pk)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")

    assert Client().post(reverse("unsubscribe", args=[tampered])).status_code == 404
    assert Client().post(reverse("unsubscribe", args=["not-a-token"])).status_code == 404
    customer.refresh_from_db()
    assert customer.consent == Consent.OPTED_IN


def test_after_unsubscribing_no_reminder_email_is_sent(tenant, rules, on, settings):
    from datetime import UTC, datetime

    from reminders.dispatch import reminders_claim_due
    from reminders.planner import plan_reminders

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    customer = CustomerFactory(tenant=tenant, consent=Consent.OPTED_IN, consent_at=timezone.now())
    VehicleFactory(customer=customer, inspection_expiry=on + timedelta(days=30))
    plan_reminders(on=on)
    Client().post(
        reverse("unsubscribe", args=[unsubscribe_token(tenant_id=tenant.pk, customer_id=customer.pk)])
    )

    reminders_claim_due(now=datetime(2026, 6, 1, 1, 0, tzinfo=UTC))

    assert mail.outbox == []
    assert ReminderRule.objects.for_tenant(tenant).count() == 8
    assert customer.reminders.get().status == ReminderStatus.CALL_TASK


def test_manager_edits_a_template_and_the_change_is_saved(manager_client, tenant, a_rule):
    template = a_rule.template
    response = manager_client.post(
        reverse("reminders:template_edit", args=[template.pk]),
        {
            "name": template.name,
            "language": "ja",
            "subject": "【{{ shop_name }}】車検",
            "body": "{{ customer_name }}",
        },
    )

    assert response.status_code == 302
    template.refresh_from_db()
    assert (template.subject, template.body) == ("【{{ shop_name }}】車検", "{{ customer_name }}")


def test_manager_sets_a_rules_holdout_and_attribution_window(manager_client, tenant, a_rule):
    page = manager_client.get(reverse("reminders:rule_edit", args=[a_rule.pk])).content.decode()
    assert 'name="holdout_percent"' in page and "10 %" in page

    response = manager_client.post(
        reverse("reminders:rule_edit", args=[a_rule.pk]),
        _rule_post(a_rule, holdout_percent=10, attribution_days=90),
    )

    assert response.status_code == 302
    a_rule.refresh_from_db()
    assert (a_rule.holdout_percent, a_rule.attribution_days) == (10, 90)


def test_a_holdout_above_fifty_percent_is_refused_and_nothing_changes(manager_client, tenant, a_rule):
    response = manager_client.post(
        reverse("reminders:rule_edit", args=[a_rule.pk]), _rule_post(a_rule, name="x", holdout_percent=60)
    )

    assert response.status_code == 200
    assert "50" in response.content.decode()
    a_rule.refresh_from_db()
    assert (a_rule.name, a_rule.holdout_percent) == ("車検のご案内", 0)


def test_campaign_rules_are_not_listed_offered_or_editable_as_rules(manager_client, tenant, a_rule):
    hidden = ReminderRule.objects.create(
        tenant=tenant, name="隠しキャンペーン", kind="campaign", template=a_rule.template
    )

    listing = manager_client.get(reverse("reminders:rules")).content.decode()
    form = manager_client.get(reverse("reminders:rule_create")).content.decode()

    assert "隠しキャンペーン" not in listing and a_rule.name in listing
    assert 'value="campaign"' not in form and 'value="personal"' not in form
    assert manager_client.get(reverse("reminders:rule_edit", args=[hidden.pk])).status_code == 404
    created = manager_client.post(
        reverse("reminders:rule_create"), _rule_post(a_rule, name="new", kind="campaign")
    )
    assert created.status_code == 200
    assert not ReminderRule.objects.for_tenant(tenant).filter(name="new").exists()


def test_the_queue_shows_held_out_reminders_with_their_badge_and_filter(staff_client, tenant, a_rule, on):
    a_rule.holdout_percent = 50
    a_rule.save()
    from reminders.models import Reminder

    customer = CustomerFactory(tenant=tenant, family_name="Heldout")
    Reminder.objects.create(
        tenant=tenant,
        rule=a_rule,
        step=1,
        customer=customer,
        occasion_date=on,
        due_date=on,
        status="held_out",
    )
    other = CustomerFactory(tenant=tenant, family_name="Treated")
    Reminder.objects.create(tenant=tenant, rule=a_rule, step=1, customer=other, occasion_date=on, due_date=on)

    page = staff_client.get(reverse("reminders:index"), {"status": "held_out"}).content.decode()

    assert "Heldout" in page and "Treated" not in page
    # the dashboard speaks Japanese by default
    assert '<span class="badge text-bg-info">対照群（送信しません）</span>' in page


def test_manager_redraws_the_control_group_explicitly_and_only_that_changes_the_salt(
    manager_client, staff_client, other_client, tenant, a_rule
):
    a_rule.holdout_percent = 10
    a_rule.save()
    salt = a_rule.holdout_salt
    url = reverse("reminders:rule_redraw_holdout", args=[a_rule.pk])
    # saving the rule form keeps the salt
    manager_client.post(
        reverse("reminders:rule_edit", args=[a_rule.pk]), _rule_post(a_rule, holdout_percent=10)
    )
    a_rule.refresh_from_db()
    assert a_rule.holdout_salt == salt

    assert staff_client.post(url).status_code == 403
    assert other_client.post(url).status_code == 404
    assert manager_client.get(url).status_code == 405
    a_rule.refresh_from_db()
    assert a_rule.holdout_salt == salt

    assert manager_client.post(url).status_code == 302
    a_rule.refresh_from_db()
    assert a_rule.holdout_salt != salt and len(a_rule.holdout_salt) == 16
