"""The planner turns rules into Reminder rows: right dates per rule kind, once, and per tenant."""

from datetime import date, timedelta

import pytest

from reminders.models import Reminder
from reminders.planner import plan_reminders
from reminders.services import reminder_defaults_create, reminder_rule_update
from tests.factories import CustomerFactory, PurchaseFactory, ServiceRecordFactory, VehicleFactory

pytestmark = pytest.mark.django_db


def _rows(tenant, **filters):
    return list(
        Reminder.objects.for_tenant(tenant)
        .filter(**filters)
        .order_by("due_date", "step")
        .values_list("rule__kind", "step", "occasion_date", "due_date")
    )


def test_inspection_is_planned_90_60_and_30_days_before_expiry(tenant, rules, on):
    vehicle = VehicleFactory(customer__tenant=tenant, inspection_expiry=on + timedelta(days=90))
    VehicleFactory(customer__tenant=tenant, inspection_expiry=on + timedelta(days=200))  # too far ahead

    plan_reminders(on=on)
    plan_reminders(on=on + timedelta(days=30))
    plan_reminders(on=on + timedelta(days=60))

    expiry = vehicle.inspection_expiry
    assert _rows(tenant, rule__kind="inspection") == [
        ("inspection", 1, expiry, on),
        ("inspection", 2, expiry, on + timedelta(days=30)),
        ("inspection", 3, expiry, on + timedelta(days=60)),
    ]


def test_inspection_after_expiry_only_when_no_shaken_was_recorded(tenant, rules, on):
    expired = on - timedelta(days=7)
    forgotten = VehicleFactory(customer__tenant=tenant, inspection_expiry=expired)
    done = VehicleFactory(customer__tenant=tenant, inspection_expiry=expired)
    ServiceRecordFactory(vehicle=done, kind="shaken", date=expired - timedelta(days=20))

    plan_reminders(on=on)

    assert _rows(tenant, rule__kind="inspection", step=4) == [("inspection", 4, expired, on)]
    assert Reminder.objects.for_tenant(tenant).get(step=4).vehicle_id == forgotten.pk


def test_sold_vehicles_get_no_inspection_reminder(tenant, rules, on):
    VehicleFactory(customer__tenant=tenant, inspection_expiry=on + timedelta(days=30), status="sold")
    plan_reminders(on=on)
    assert _rows(tenant) == []


def test_twelve_month_check_is_due_a_year_after_the_last_shaken(tenant, rules, on):
    vehicle = VehicleFactory(customer__tenant=tenant, inspection_expiry=date(2027, 7, 1))
    ServiceRecordFactory(vehicle=vehicle, kind="shaken", date=date(2025, 7, 1))

    plan_reminders(on=on)

    # default step: 30 days before the check is due
    assert _rows(tenant, rule__kind="check_12m") == [("check_12m", 1, date(2026, 7, 1), date(2026, 6, 1))]


def test_six_month_check_only_when_the_tenant_turned_it_on(tenant, other_tenant, rules, on):
    reminder_defaults_create(tenant=other_tenant)
    other_tenant.six_month_check_enabled = True
    other_tenant.save()
    for shop in (tenant, other_tenant):
        vehicle = VehicleFactory(customer__tenant=shop, inspection_expiry=date(2027, 7, 1))
        ServiceRecordFactory(vehicle=vehicle, kind="check_12m", date=date(2026, 1, 1))

    plan_reminders(on=on)

    assert _rows(tenant, rule__kind="check_6m") == []
    assert _rows(other_tenant, rule__kind="check_6m") == [("check_6m", 1, date(2026, 7, 1), date(2026, 6, 1))]


def test_birthday_on_the_day_at_most_once_a_year(tenant, rules, on):
    CustomerFactory(tenant=tenant, birthday=date(1980, 6, 3))
    CustomerFactory(tenant=tenant, birthday=date(1980, 9, 3))  # not in the window

    for day in range(0, 10):
        plan_reminders(on=on + timedelta(days=day))

    assert _rows(tenant, rule__kind="birthday") == [("birthday", 1, date(2026, 6, 3), date(2026, 6, 3))]


def test_birthday_n_days_before(tenant, rules, on):
    reminder_rule_update(tenant=tenant, rule=rules["birthday"], data={}, offsets=[-5])
    CustomerFactory(tenant=tenant, birthday=date(1990, 6, 10))

    plan_reminders(on=on)

    assert _rows(tenant, rule__kind="birthday") == [("birthday", 1, date(2026, 6, 10), date(2026, 6, 5))]


def test_follow_up_three_days_after_a_service_and_seven_after_a_purchase(tenant, rules, on):
    vehicle = VehicleFactory(customer__tenant=tenant, inspection_expiry=None)
    ServiceRecordFactory(vehicle=vehicle, kind="oil_change", date=on)
    PurchaseFactory(customer=vehicle.customer, date=on - timedelta(days=400))
    PurchaseFactory(customer=vehicle.customer, date=on)

    plan_reminders(on=on)

    assert _rows(tenant, rule__kind="follow_up_service") == [
        ("follow_up_service", 1, on, on + timedelta(days=3))
    ]
    assert _rows(tenant, rule__kind="follow_up_purchase") == [
        ("follow_up_purchase", 1, on, on + timedelta(days=7))
    ]


def test_nurture_follows_the_first_purchase_and_stops_when_the_customer_buys_again(tenant, rules, on):
    first = on - timedelta(days=14)  # default steps: 14, 60, 180 days after the first purchase
    one_time = CustomerFactory(tenant=tenant)
    PurchaseFactory(customer=one_time, date=first)
    repeat = CustomerFactory(tenant=tenant)
    PurchaseFactory(customer=repeat, date=first)
    PurchaseFactory(customer=repeat, date=first + timedelta(days=3))

    plan_reminders(on=on)

    assert list(
        Reminder.objects.for_tenant(tenant).filter(rule__kind="nurture").values_list("customer_id", "step")
    ) == [(one_time.pk, 1)]
    PurchaseFactory(customer=one_time, date=on + timedelta(days=10))  # buys again
    plan_reminders(on=first + timedelta(days=60))
    assert Reminder.objects.for_tenant(tenant).filter(rule__kind="nurture").count() == 1


def test_seasonal_rule_reaches_only_its_tagged_audience(tenant, rules, on):
    from customers.services import customer_set_tags

    seasonal = rules["seasonal"]
    reminder_rule_update(tenant=tenant, rule=seasonal, data={"is_active": True, "audience_tag": "snow"})
    tagged = CustomerFactory(tenant=tenant)
    customer_set_tags(tenant=tenant, customer=tagged, names=["snow"])
    CustomerFactory(tenant=tenant)

    plan_reminders(on=date(2026, 10, 18))  # 14 days before 1 November

    rows = Reminder.objects.for_tenant(tenant).filter(rule=seasonal)
    assert list(rows.values_list("customer_id", "occasion_date", "due_date")) == [
        (tagged.pk, date(2026, 11, 1), date(2026, 10, 18))
    ]


def test_seasonal_rule_with_a_segment_reaches_only_that_analytics_segment(tenant, rules, on):
    from django.utils import timezone

    from analytics.models import CustomerRFM

    seasonal = rules["seasonal"]
    reminder_rule_update(
        tenant=tenant, rule=seasonal, data={"is_active": True, "audience_segment": "champions"}
    )
    champion, at_risk = CustomerFactory(tenant=tenant), CustomerFactory(tenant=tenant)
    CustomerFactory(tenant=tenant)  # never scored: not in any segment
    for customer, segment in ((champion, "champions"), (at_risk, "at_risk")):
        CustomerRFM.objects.create(
            tenant=tenant, customer=customer, as_of=on, computed_at=timezone.now(), segment=segment
        )

    plan_reminders(on=date(2026, 10, 18))

    assert list(
        Reminder.objects.for_tenant(tenant).filter(rule=seasonal).values_list("customer_id", flat=True)
    ) == [champion.pk]


def test_planning_twice_creates_nothing_new(tenant, rules, on):
    VehicleFactory(customer__tenant=tenant, inspection_expiry=on + timedelta(days=30))
    CustomerFactory(tenant=tenant, birthday=date(1970, 6, 1))

    first = plan_reminders(on=on)
    second = plan_reminders(on=on)

    assert sum(first.values()) == 2
    assert sum(second.values()) == 0
    assert Reminder.objects.for_tenant(tenant).count() == 2


def test_planning_one_tenant_never_touches_another(tenant, other_tenant, rules, on):
    reminder_defaults_create(tenant=other_tenant)
    VehicleFactory(customer__tenant=tenant, inspection_expiry=on + timedelta(days=30))
    VehicleFactory(customer__tenant=other_tenant, inspection_expiry=on + timedelta(days=30))

    plan_reminders(on=on, tenant_id=tenant.pk)

    assert Reminder.objects.for_tenant(tenant).count() == 1
    assert Reminder.objects.for_tenant(other_tenant).count() == 0


def test_rules_of_one_tenant_never_plan_for_another_tenants_customers(tenant, other_tenant, rules, on):
    # other_tenant has customers but no rules: tenant's rules must not reach them.
    VehicleFactory(customer__tenant=other_tenant, inspection_expiry=on + timedelta(days=30))

    plan_reminders(on=on)

    assert Reminder.objects.unscoped().filter(customer__tenant=other_tenant).count() == 0


def test_inactive_rules_plan_nothing(tenant, rules, on):
    reminder_rule_update(tenant=tenant, rule=rules["inspection"], data={"is_active": False})
    VehicleFactory(customer__tenant=tenant, inspection_expiry=on + timedelta(days=30))
    plan_reminders(on=on)
    assert _rows(tenant) == []


def test_plan_reminders_command_for_one_tenant_and_date(tenant, other_tenant, rules, on):
    from io import StringIO

    from django.core.management import CommandError, call_command

    reminder_defaults_create(tenant=other_tenant)
    VehicleFactory(customer__tenant=tenant, inspection_expiry=on + timedelta(days=30))
    VehicleFactory(customer__tenant=other_tenant, inspection_expiry=on + timedelta(days=30))
    out = StringIO()

    call_command("plan_reminders", "--date", on.isoformat(), "--tenant", "shop-a", stdout=out)

    assert "planned 1 reminders" in out.getvalue()
    assert Reminder.objects.for_tenant(other_tenant).count() == 0
    with pytest.raises(CommandError):
        call_command("plan_reminders", "--tenant", "no-such-shop")


def test_a_tenant_with_reminders_can_be_deleted(tenant, rules, on):
    from crm.models import Tenant

    VehicleFactory(customer__tenant=tenant, inspection_expiry=on + timedelta(days=30))
    plan_reminders(on=on)

    Tenant.objects.filter(pk=tenant.pk).delete()

    assert Reminder.objects.unscoped().count() == 0
