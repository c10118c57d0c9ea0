"""The state one tenant's generation shares across domains: the random stream, the next ids, the rows.

Every domain module (`people`, `vehicles`, `history`, `contacts`) draws from the one `rng` in a fixed
order, so the same seed on the same day gives the same data: reordering calls changes the data.
"""

from __future__ import annotations

import calendar
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from crm.db.bulk import next_id
from crm.models import Tenant
from customers.models import Customer, Household, Purchase, PurchaseCategory, ServiceRecord, Vehicle
from interactions.models import CallTask, Deal, Interaction

JST = ZoneInfo("Asia/Tokyo")


def add_months(day: date, months: int) -> date:
    """`day` plus whole months, clamped to the month's end (dateutil's relativedelta is 10x slower)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass
class Generated:
    households: list = field(default_factory=list)
    customers: list = field(default_factory=list)
    customer_tags: list = field(default_factory=list)
    vehicles: list = field(default_factory=list)
    purchases: list = field(default_factory=list)
    services: list = field(default_factory=list)
    interactions: list = field(default_factory=list)
    deals: list = field(default_factory=list)
    call_tasks: list = field(default_factory=list)


class DemoGenerator:
    """One tenant's generation; ids are assigned from the tables' next free ids."""

    def __init__(
        self,
        *,
        tenant: Tenant,
        kind: str,
        customers: int,
        years: int,
        seed: int,
        today: date,
        staff_ids: list[int],
        stream: int = 0,
    ):
        self.tenant = tenant
        self.kind = kind
        self.n = customers
        self.years = years
        self.today = today
        self.staff_ids = staff_ids
        self.rng = random.Random(f"{seed}/{kind}/{stream}")
        self.start = add_months(today, -12 * years)
        self.now = timezone.now()
        self.categories = dict(PurchaseCategory.objects.for_tenant(tenant).values_list("code", "id"))
        self.ids = {
            m: next_id(m)
            for m in (Household, Customer, Vehicle, Purchase, ServiceRecord, Interaction, Deal, CallTask)
        }
        self.tag_ids: list[int] = []
        self.out = Generated()

    def take_id(self, model) -> int:
        value = self.ids[model]
        self.ids[model] = value + 1
        return value

    def day(self, lo: date, hi: date) -> date:
        if hi <= lo:
            return lo
        return lo + timedelta(days=self.rng.randrange((hi - lo).days + 1))

    def at(self, day: date) -> datetime:
        return datetime.combine(day, time(self.rng.randint(9, 18), self.rng.choice((0, 15, 30, 45))), JST)

    def weighted(self, table: dict, column: int = 0):
        keys = list(table)
        weights = [table[k][column] if isinstance(table[k], tuple) else table[k] for k in keys]
        return self.rng.choices(keys, weights=weights)[0]
