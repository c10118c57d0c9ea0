"""Demo capacity and a week of bookings, so a demo shop's calendar is not empty on first look.

Bookings go through the booking service (seats claimed as for real ones) without messages: the
demo customers' addresses are made up, and seeding must not fill the outbox.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from bookings import services
from bookings import slots as slot_math
from bookings.models import BookingSource
from crm.models import Tenant
from customers.models import Vehicle, VehicleStatus

DAYS = 7
PER_DAY = 6  # bookings a day, spread over the work types
REQUEST_SHARE = 0.3  # online requests still waiting for the shop's confirmation


def seed_bookings(*, tenant: Tenant, today: date, seed: int) -> int:
    """Give the shop the default capacity and up to PER_DAY bookings a day for the next DAYS days."""
    work_types = services.booking_defaults_create(tenant=tenant)
    rng = random.Random(f"{seed}-bookings-{tenant.slug}")
    vehicles = list(
        Vehicle.objects.for_tenant(tenant)
        .filter(status=VehicleStatus.OWNED)
        .select_related("customer")
        .order_by("pk")[:500]
    )
    if not vehicles:
        return 0
    created = 0
    calendar = slot_math.ShopCalendar.load(tenant)
    for offset in range(DAYS):
        day = today + timedelta(days=offset)
        for _ in range(PER_DAY):
            work_type = rng.choice(work_types)
            free = slot_math.free_slots(
                tenant=tenant, work_type=work_type, start=day, end=day, online=False, calendar=calendar
            )
            if not free:
                continue
            slot = rng.choice(free)
            vehicle = rng.choice(vehicles)
            try:
                services.booking_create(
                    tenant=tenant,
                    customer=vehicle.customer,
                    vehicle=vehicle,
                    work_type=work_type,
                    starts_at=slot.starts_at,
                    source=BookingSource.ONLINE if rng.random() < REQUEST_SHARE else BookingSource.PHONE,
                    online_rules=False,
                    notify=False,
                )
            except (services.SlotTaken, services.SlotNotOffered):
                continue
            created += 1
    return created
