"""Campaign lifecycle: draft → submit (threshold) → approve → launch; re-approval when the audience
grew; cancel; the launch writes each customer once (twice launched = same rows), holdout by the rule
hash, and its reminders go through dispatch like a rule's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from crm.common.errors import ApplicationError
from customers.models import Customer, CustomerTag, Tag
from interactions.models import CallTask
from reminders import selectors as reminder_selectors
from reminders.campaigns import services
from reminders.dispatch import reminders_claim_due
from reminders.holdout import is_held_out
from reminders.models import Campaign, CampaignStatus, Reminder, ReminderRule, RuleKind
from reminders.tasks import launch_due_campaigns
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

# 10:00 in Tokyo on 2026-06-01: inside the default send window.
SEND_AT = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)


@pytest.fixture
def vip(tenant):
    return Tag.objects.create(tenant=tenant, name="vip")


def _vips(tenant, vip, n, **fields):
    people = [
        CustomerFactory(tenant=tenant, consent="opted_in", consent_at=timezone.now(), **fields)
        for _ in range(n)
    ]
    CustomerTag.objects.bulk_create([CustomerTag(tenant=tenant, customer=c, tag=vip) for c in people])
    return people


def _draft(tenant, rules, *, threshold=None, holdout=0, by=None, audience=None):
    if threshold is not None:
        services.campaign_settings_update(tenant=tenant, approval_threshold=threshold)
    return services.campaign_create(
        tenant=tenant,
        name="冬タイヤ",
        audience={"tags": ["vip"]} if audience is None else audience,
        scheduled_for=SEND_AT,
        template=rules["seasonal"].template,
        holdout_percent=holdout,
        created_by=by,
    )


def test_a_draft_has_a_hidden_rule_that_the_rules_list_and_api_never_show(tenant, rules, vip):
    _vips(tenant, vip, 3)
    campaign = _draft(tenant, rules)

    assert (campaign.status, campaign.audience_size) == (CampaignStatus.DRAFT, 3)
    assert (
        campaign.rule.kind,
        campaign.rule.name,
        list(campaign.rule.steps.values_list("step", "offset_days")),
    ) == (
        RuleKind.CAMPAIGN,
        "冬タイヤ",
        [(1, 0)],
    )
    assert campaign.rule not in reminder_selectors.rule_list(tenant=tenant)
    assert reminder_selectors.rule_list(tenant=tenant).count() == len(rules)


def test_a_small_campaign_is_scheduled_on_submit_and_a_large_one_waits_for_approval(
    tenant, rules, vip, manager, staff
):
    _vips(tenant, vip, 3)
    small = services.campaign_submit(tenant=tenant, campaign=_draft(tenant, rules, threshold=3))
    assert (small.status, small.approved_by) == (CampaignStatus.SCHEDULED, None)

    large = services.campaign_submit(tenant=tenant, campaign=_draft(tenant, rules, threshold=2))
    assert large.status == CampaignStatus.AWAITING_APPROVAL

    with pytest.raises(ApplicationError):
        services.campaign_approve(tenant=tenant, campaign=large, by=staff)
    assert Campaign.objects.for_tenant(tenant).get(pk=large.pk).status == CampaignStatus.AWAITING_APPROVAL

    approved = services.campaign_approve(tenant=tenant, campaign=large, by=manager)
    assert (approved.status, approved.approved_by, approved.approved_size) == (
        CampaignStatus.SCHEDULED,
        manager,
        3,
    )
    assert approved.approved_at is not None


def test_an_empty_audience_cannot_be_submitted(tenant, rules, vip):
    campaign = _draft(tenant, rules)
    with pytest.raises(services.CampaignStateError):
        services.campaign_submit(tenant=tenant, campaign=campaign)
    assert Campaign.objects.for_tenant(tenant).get(pk=campaign.pk).status == CampaignStatus.DRAFT


def test_an_edit_makes_it_a_draft_again_and_drops_the_approval(tenant, rules, vip, owner):
    _vips(tenant, vip, 3)
    campaign = services.campaign_submit(tenant=tenant, campaign=_draft(tenant, rules, threshold=1))
    campaign = services.campaign_approve(tenant=tenant, campaign=campaign, by=owner)

    edited = services.campaign_update(
        tenant=tenant, campaign=campaign, data={"name": "夏タイヤ", "holdout_percent": 20}
    )

    assert (edited.status, edited.approved_by, edited.approved_size, edited.name) == (
        CampaignStatus.DRAFT,
        None,
        None,
        "夏タイヤ",
    )
    rule = ReminderRule.objects.for_tenant(tenant).get(pk=campaign.rule_id)
    assert (rule.name, rule.holdout_percent) == ("夏タイヤ", 20)


def test_launch_writes_one_pending_row_per_customer_due_today_and_twice_writes_nothing(tenant, rules, vip):
    people = _vips(tenant, vip, 4)
    CustomerFactory(tenant=tenant)  # not a vip
    campaign = services.campaign_submit(tenant=tenant, campaign=_draft(tenant, rules))
    later = SEND_AT + timedelta(hours=2)

    assert (
        services.campaign_launch(tenant=tenant, campaign=campaign, now=SEND_AT - timedelta(minutes=1)) is None
    )
    assert services.campaign_launch(tenant=tenant, campaign=campaign, now=later) == 4
    assert services.campaign_launch(tenant=tenant, campaign=campaign, now=later) is None

    campaign.refresh_from_db()
    assert (campaign.status, campaign.launched_at, campaign.audience_size) == (
        CampaignStatus.LAUNCHED,
        later,
        4,
    )
    rows = Reminder.objects.for_tenant(tenant).filter(rule_id=campaign.rule_id)
    assert sorted(rows.values_list("customer_id", flat=True)) == sorted(c.pk for c in people)
    assert set(rows.values_list("step", "vehicle_id", "occasion_date", "due_date", "status")) == {
        (1, None, SEND_AT.date(), SEND_AT.date(), "pending")
    }


def test_the_beat_task_launches_due_campaigns_once_and_a_rerun_after_reset_adds_no_row(tenant, rules, vip):
    _vips(tenant, vip, 3)
    campaign = services.campaign_submit(tenant=tenant, campaign=_draft(tenant, rules))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(timezone, "now", lambda: SEND_AT + timedelta(minutes=1))
        assert launch_due_campaigns() == 1
        assert launch_due_campaigns() == 0
        # Even if the launch ran again (its status lost), the unique constraint keeps every customer once.
        Campaign.objects.for_tenant(tenant).filter(pk=campaign.pk).update(status=CampaignStatus.SCHEDULED)
        assert launch_due_campaigns() == 1
    assert Reminder.objects.for_tenant(tenant).filter(rule_id=campaign.rule_id).count() == 3


def test_launch_holds_out_by_the_same_hash_as_rules(tenant, rules, vip):
    people = _vips(tenant, vip, 60)
    campaign = services.campaign_submit(
        tenant=tenant, campaign=_draft(tenant, rules, threshold=1000, holdout=30)
    )
    services.campaign_launch(tenant=tenant, campaign=campaign, now=SEND_AT)

    rule = campaign.rule
    statuses = dict(
        Reminder.objects.for_tenant(tenant).filter(rule_id=rule.pk).values_list("customer_id", "status")
    )
    expected = {
        c.pk: "held_out" if is_held_out(tenant.pk, rule.pk, c.pk, rule.holdout_salt, 30) else "pending"
        for c in people
    }
    assert statuses == expected
    assert 0 < list(statuses.values()).count("held_out") < 60


def test_an_approved_audience_grown_by_more_than_ten_percent_goes_back_for_approval(
    tenant, rules, vip, owner
):
    _vips(tenant, vip, 10)
    campaign = services.campaign_submit(tenant=tenant, campaign=_draft(tenant, rules, threshold=5))
    campaign = services.campaign_approve(tenant=tenant, campaign=campaign, by=owner)
    _vips(tenant, vip, 1)  # 11 = +10 %: still fine
    assert Campaign.objects.for_tenant(tenant).get(pk=campaign.pk).approved_size == 10

    Campaign.objects.for_tenant(tenant).filter(pk=campaign.pk).update(
        scheduled_for=SEND_AT + timedelta(days=1)
    )
    _vips(tenant, vip, 1)  # 12 = +20 %: too many
    assert services.campaign_launch(tenant=tenant, campaign=campaign, now=SEND_AT + timedelta(days=1)) is None

    campaign.refresh_from_db()
    assert (campaign.status, campaign.approved_by, campaign.audience_size) == (
        CampaignStatus.AWAITING_APPROVAL,
        None,
        12,
    )
    assert not Reminder.objects.for_tenant(tenant).filter(rule_id=campaign.rule_id).exists()


def test_growth_of_exactly_ten_percent_still_launches(tenant, rules, vip, owner):
    _vips(tenant, vip, 10)
    campaign = services.campaign_submit(tenant=tenant, campaign=_draft(tenant, rules, threshold=5))
    campaign = services.campaign_approve(tenant=tenant, campaign=campaign, by=owner)
    _vips(tenant, vip, 1)
    assert services.campaign_launch(tenant=tenant, campaign=campaign, now=SEND_AT) == 11


def test_a_small_campaign_that_grew_past_the_threshold_needs_approval_at_launch(tenant, rules, vip):
    _vips(tenant, vip, 2)
    campaign = services.campaign_submit(tenant=tenant, campaign=_draft(tenant, rules, threshold=2))
    assert campaign.status == CampaignStatus.SCHEDULED
    _vips(tenant, vip, 1)
    assert services.campaign_launch(tenant=tenant, campaign=campaign, now=SEND_AT) is None
    assert Campaign.objects.for_tenant(tenant).get(pk=campaign.pk).status == CampaignStatus.AWAITING_APPROVAL


def test_cancel_before_launch_stops_it_and_a_launched_one_cannot_be_cancelled_or_edited(tenant, rules, vip):
    _vips(tenant, vip, 2)
    cancelled = services.campaign_cancel(
        tenant=tenant, campaign=services.campaign_submit(tenant=tenant, campaign=_draft(tenant, rules))
    )
    assert cancelled.status == CampaignStatus.CANCELLED
    assert services.campaign_launch(tenant=tenant, campaign=cancelled, now=SEND_AT) is None
    assert not ReminderRule.objects.for_tenant(tenant).get(pk=cancelled.rule_id).is_active

    launched = services.campaign_submit(tenant=tenant, campaign=_draft(tenant, rules))
    services.campaign_launch(tenant=tenant, campaign=launched, now=SEND_AT)
    with pytest.raises(services.CampaignStateError):
        services.campaign_cancel(tenant=tenant, campaign=launched)
    with pytest.raises(services.CampaignStateError):
        services.campaign_update(tenant=tenant, campaign=launched, data={"name": "x"})
    assert Campaign.objects.for_tenant(tenant).get(pk=launched.pk).name == "冬タイヤ"


def test_erased_customers_are_never_written(tenant, rules, vip):
    people = _vips(tenant, vip, 3)
    Customer.objects.for_tenant(tenant).filter(pk=people[0].pk).update(erased_at=timezone.now())
    campaign = services.campaign_submit(tenant=tenant, campaign=_draft(tenant, rules))
    assert services.campaign_launch(tenant=tenant, campaign=campaign, now=SEND_AT) == 2


def test_campaign_rows_are_dispatched_and_unreachable_customers_are_skipped_not_called(tenant, rules, vip):
    [reachable] = _vips(tenant, vip, 1)
    [unreachable] = _vips(tenant, vip, 1, email="", postal_code="", address="", phone="")
    campaign = services.campaign_submit(tenant=tenant, campaign=_draft(tenant, rules))
    services.campaign_launch(tenant=tenant, campaign=campaign, now=SEND_AT)

    _queued, claimed = reminders_claim_due(now=SEND_AT)

    assert claimed == 2
    rows = {
        r.customer_id: (r.status, r.channel, r.reason)
        for r in Reminder.objects.for_tenant(tenant).filter(rule_id=campaign.rule_id)
    }
    assert rows == {
        reachable.pk: ("queued", "email", ""),
        unreachable.pk: ("skipped", "", "no channel reaches the customer"),
    }
    assert not CallTask.objects.for_tenant(tenant).exists()


def test_another_shops_template_is_refused(tenant, other_tenant, rules):
    from reminders.services import reminder_defaults_create

    theirs = reminder_defaults_create(tenant=other_tenant)[0].template
    with pytest.raises(ApplicationError):
        services.campaign_create(tenant=tenant, name="x", audience={}, scheduled_for=SEND_AT, template=theirs)
    assert not Campaign.objects.for_tenant(tenant).exists()


def test_held_out_campaign_rows_are_never_claimed(tenant, rules, vip):
    people = _vips(tenant, vip, 40)
    campaign = services.campaign_submit(
        tenant=tenant, campaign=_draft(tenant, rules, threshold=1000, holdout=50)
    )
    services.campaign_launch(tenant=tenant, campaign=campaign, now=SEND_AT)
    rule = campaign.rule
    held = {c.pk for c in people if is_held_out(tenant.pk, rule.pk, c.pk, rule.holdout_salt, 50)}
    assert 0 < len(held) < 40

    _queued, claimed = reminders_claim_due(now=SEND_AT)

    assert claimed == 40 - len(held)
    statuses = dict(
        Reminder.objects.for_tenant(tenant).filter(rule_id=rule.pk).values_list("customer_id", "status")
    )
    assert {c for c, s in statuses.items() if s == "held_out"} == held
    assert {s for c, s in statuses.items() if c not in held} == {"queued"}
