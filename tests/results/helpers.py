"""Hand-built reminders for the results tests: rules, reminders of any status (held-out ones too),
bookings and visits, written straight with the ORM (the planner is not under test here)."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from bookings.models import Booking
from reminders.models import Reminder, ReminderRule, ReminderTemplate
from tests.factories import WorkTypeFactory

JST = ZoneInfo("Asia/Tokyo")


def make_rule(tenant, *, name="車検のご案内", kind="inspection", holdout=10, attribution_days=60):
    template, _ = ReminderTemplate.objects.for_tenant(tenant).get_or_create(
        tenant=tenant, name="案内", language="ja", defaults={"subject": "ご案内", "body": "本文"}
    )
    return ReminderRule.objects.create(
        tenant=tenant,
        name=name,
        kind=kind,
        template=template,
        holdout_percent=holdout,
        attribution_days=attribution_days,
    )


def make_reminder(rule, customer, due: date, status="sent", *, step=1, channel="email", **fields):
    return Reminder.objects.create(
        tenant=rule.tenant,
        rule=rule,
        step=step,
        customer=customer,
        occasion_date=fields.pop("occasion_date", due),
        due_date=due,
        status=status,
        channel=channel,
        **fields,
    )


def make_booking(reminder, status="confirmed", day=date(2026, 3, 20)):
    starts = datetime.combine(day, time(10), JST)
    return Booking.objects.create(
        tenant=reminder.tenant,
        customer=reminder.customer,
        work_type=WorkTypeFactory(tenant=reminder.tenant),
        starts_at=starts,
        ends_at=starts.replace(hour=11),
        status=status,
        source="reminder",
        reminder=reminder,
    )
