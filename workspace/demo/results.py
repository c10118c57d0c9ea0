"""A simulated year of reminders with a 10 % control group, so a demo shop's Results page has figures.

The demo history already says who came back for their 車検, 12-month check or birthday month. Here the
shop's main rules get a 10 % holdout, and the past year's occasions get the reminders the planner would
have made: sent for nine in ten customers, `held_out` for the rest (drawn per rule and customer). A
reminded customer who did not come back in the history is brought back with a small chance (a service
within the rule's attribution window), a held-out one never: so reminded customers return somewhat more
often, as a real shop would hope to see. Everything is drawn from one seeded `random.Random`.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from crm.models import Tenant
from customers.models import Customer, ServiceKind, ServiceRecord, Vehicle, VehicleStatus
from reminders.models import Reminder, ReminderRule, ReminderStatus, ReminderStep, RuleKind
from results.services import results_refresh
from workspace.demo.generator import add_months

JST = ZoneInfo("Asia/Tokyo")
HOLDOUT_PERCENT = 10
# Chance that a reminded customer who would not have come back does come (the planted effect), and
# the service they book then.
BROUGHT_BACK = {
    RuleKind.INSPECTION: (0.30, ServiceKind.SHAKEN, 60_000),
    RuleKind.CHECK_12M: (0.20, ServiceKind.CHECK_12M, 15_000),
    RuleKind.BIRTHDAY: (0.06, ServiceKind.OIL_CHANGE, 6_000),
}
CHANNELS = (("email", 5), ("line", 3), ("postcard", 2))


def _occasions(
    tenant: Tenant, kind: str, start: date, today: date
) -> list[tuple[int, int | None, date, bool]]:
    """(customer, vehicle, occasion, came back anyway) for one kind over [start, today]."""
    services = ServiceRecord.objects.for_tenant(tenant).filter(vehicle__status=VehicleStatus.OWNED)
    if kind == RuleKind.INSPECTION:
        done = services.filter(kind=ServiceKind.SHAKEN, date__range=(start, today))
        seen = {vehicle for _c, vehicle, _d in done.values_list("customer_id", "vehicle_id", "date")}
        out = [
            (c, v, d + timedelta(days=14), True)
            for c, v, d in done.values_list("customer_id", "vehicle_id", "date")
        ]
        lapsed = (
            Vehicle.objects.for_tenant(tenant)
            .filter(status=VehicleStatus.OWNED, inspection_expiry__range=(start, today - timedelta(days=30)))
            .exclude(pk__in=seen)
            .values_list("customer_id", "pk", "inspection_expiry")
        )
        # A car whose current expiry is two years after an expiry in this year, without a 車検 here:
        # its owner renewed elsewhere (or the demo history has them drifting away).
        elsewhere = (
            Vehicle.objects.for_tenant(tenant)
            .filter(
                status=VehicleStatus.OWNED,
                inspection_expiry__range=(add_months(start, 24), add_months(today, 24)),
            )
            .exclude(pk__in=seen)
            .values_list("customer_id", "pk", "inspection_expiry")
        )
        out += [(c, v, d, False) for c, v, d in lapsed]
        return out + [(c, v, add_months(d, -24), False) for c, v, d in elsewhere]
    if kind == RuleKind.CHECK_12M:
        checks = defaultdict(list)
        for vehicle, day in services.filter(
            kind=ServiceKind.CHECK_12M, date__gte=start - timedelta(days=90)
        ).values_list("vehicle_id", "date"):
            checks[vehicle].append(day)
        out = []
        last_year = services.filter(
            kind=ServiceKind.SHAKEN, date__range=(add_months(start, -12), add_months(today, -12))
        ).values_list("customer_id", "vehicle_id", "date")
        for customer, vehicle, day in last_year:
            due = add_months(day, 12)
            done = any(abs((d - due).days) <= 60 for d in checks[vehicle])
            out.append((customer, vehicle, due, done))
        return out
    birthdays = Customer.objects.for_tenant(tenant).filter(birthday__isnull=False, erased_at__isnull=True)
    visits = defaultdict(list)
    for customer, day in services.filter(date__gte=start - timedelta(days=30)).values_list(
        "customer_id", "date"
    ):
        visits[customer].append(day)
    out = []
    for customer, birthday in birthdays.values_list("pk", "birthday"):
        day = birthday.replace(year=today.year, day=min(birthday.day, 28))
        if day > today - timedelta(days=30):
            day = day.replace(year=today.year - 1)
        came = any(0 <= (d - day).days <= 60 for d in visits[customer])
        out.append((customer, None, day, came))
    return out


def seed_results(*, tenant: Tenant, today: date, seed: int) -> dict[str, int]:
    """Give the demo shop's main rules a 10 % holdout and a year of reminders, then refresh results."""
    rng = random.Random(f"{seed}-results-{tenant.slug}")
    start = today - timedelta(days=365)
    rules = list(ReminderRule.objects.for_tenant(tenant).filter(kind__in=list(BROUGHT_BACK)).order_by("pk"))
    ReminderRule.objects.for_tenant(tenant).filter(pk__in=[r.pk for r in rules]).update(
        holdout_percent=HOLDOUT_PERCENT
    )
    vehicle_of = dict(Vehicle.objects.for_tenant(tenant).order_by("pk").values_list("customer_id", "pk"))
    reminders, visits, renewed = [], [], []
    channels, weights = zip(*CHANNELS, strict=True)
    for rule in rules:
        steps = list(
            ReminderStep.objects.for_tenant(tenant).filter(rule=rule).values_list("step", "offset_days")
        )
        chance, kind, price = BROUGHT_BACK[rule.kind]
        held_out: dict[int, bool] = {}
        for customer, vehicle, occasion, came in sorted(_occasions(tenant, rule.kind, start, today)):
            held = held_out.setdefault(customer, rng.random() < HOLDOUT_PERCENT / 100)
            dues = [(step, occasion + timedelta(days=offset)) for step, offset in steps]
            dues = [(s, d) for s, d in dues if d <= today]
            if not dues:
                continue
            for step, due in dues:
                sent_at = datetime.combine(due, time(10), JST)
                channel = "" if held else rng.choices(channels, weights)[0]
                opened = channel == "email" and rng.random() < 0.45
                reminders.append(
                    Reminder(
                        tenant=tenant, rule=rule, step=step, customer_id=customer, vehicle_id=vehicle,
                        occasion_date=occasion, due_date=due,
                        status=ReminderStatus.HELD_OUT if held else ReminderStatus.SENT, channel=channel,
                        sent_at=None if held else sent_at,
                        opened_at=sent_at + timedelta(hours=3) if opened else None,
                        clicked_at=sent_at + timedelta(hours=4) if channel and rng.random() < 0.12 else None,
                    )
                )  # fmt: skip
            first_due = dues[0][1]
            if not held and not came and rng.random() < chance:
                day = min(first_due + timedelta(days=rng.randint(2, rule.attribution_days // 2)), today)
                car = vehicle or vehicle_of.get(customer)
                if car is None:
                    continue
                visits.append(
                    ServiceRecord(
                        tenant=tenant, customer_id=customer, vehicle_id=car, date=day, kind=kind,
                        amount=rng.randrange(price, price * 2, 100), gross_profit=price // 3,
                        next_due=add_months(day, 24 if kind == ServiceKind.SHAKEN else 12),
                    )
                )  # fmt: skip
                if kind == ServiceKind.SHAKEN:
                    renewed.append((car, add_months(occasion, 24)))
    Reminder.objects.bulk_create(reminders, batch_size=2000, ignore_conflicts=True)
    ServiceRecord.objects.bulk_create(visits, batch_size=2000)
    cars = Vehicle.objects.for_tenant(tenant).in_bulk([v for v, _e in renewed])
    for vehicle, expiry in renewed:
        cars[vehicle].inspection_expiry = expiry
    Vehicle.objects.for_tenant(tenant).bulk_update(
        list(cars.values()), ["inspection_expiry"], batch_size=2000
    )
    refreshed = results_refresh(tenant=tenant, as_of=today)
    return {"reminders": len(reminders), "brought_back": len(visits), **refreshed}
