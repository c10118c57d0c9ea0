"""Free slots of a work type, computed from the shop's capacity in a few set-based queries.

The grid: bookings hold seats on a fixed 15-minute claim grid (`CLAIM_MINUTES`), whatever the shop
offers; the shop's `slot_minutes` (15/30/60) only decides where an offered slot may *start*. So a
change of the offered grid never makes the held seats unreadable, and a 車検 of 90 minutes holds six
cells. A candidate start is free when every cell it covers has fewer claims than the work type's
capacity, the whole booking fits inside one opening interval (no booking spans the lunch break),
the day is open (weekly pattern, not a closed day, not a public holiday unless the shop opens on
them) and it lies between now + lead time and today + horizon.

Queries: settings, opening hours, closed days (three small reads) and ONE aggregate over the
claims of the work type in the window (`GROUP BY starts_at`): never a query per slot or per day.
The rest is Python over the grid (60 days × ~20 starts a day ≈ a thousand entries).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from bookings.holidays import public_holidays
from bookings.models import BookingSettings, ClosedDay, OpeningHours, SlotClaim, WorkType
from crm.models import Tenant

CLAIM_MINUTES = 15
CLAIM_STEP = timedelta(minutes=CLAIM_MINUTES)


@dataclass(frozen=True)
class Slot:
    starts_at: datetime  # aware, in the shop's time zone
    ends_at: datetime
    free: int  # seats still free for the whole duration

    @property
    def key(self) -> str:
        """The slot's value in forms and URLs: local start, minute precision."""
        return f"{self.starts_at:%Y-%m-%dT%H:%M}"

    @property
    def label(self) -> str:
        return f"{self.starts_at:%H:%M}"


def settings_for(tenant: Tenant) -> BookingSettings:
    """The shop's booking settings, or the defaults (unsaved) when it never changed them."""
    found = BookingSettings.objects.for_tenant(tenant).first()
    return found if found is not None else BookingSettings(tenant=tenant)


def shop_zone(tenant: Tenant) -> ZoneInfo:
    return ZoneInfo(tenant.time_zone or "Asia/Tokyo")


def claim_cells(starts_at: datetime, duration_minutes: int) -> list[datetime]:
    """The 15-minute cells a booking of this length starting then holds."""
    count = math.ceil(duration_minutes / CLAIM_MINUTES)
    return [starts_at + i * CLAIM_STEP for i in range(count)]


@dataclass
class ShopCalendar:
    """What one page or API answer needs of a shop's capacity, read once: settings, the weekly
    hours and the closed days (public holidays and the shop's own) of the days it looks at."""

    tenant: Tenant
    settings: BookingSettings
    zone: ZoneInfo
    hours: dict[int, list[tuple[time, time]]]
    closed: dict[date, str] = field(default_factory=dict)
    closed_loaded: tuple[date, date] | None = None

    @classmethod
    def load(cls, tenant: Tenant) -> ShopCalendar:
        by_weekday: dict[int, list[tuple[time, time]]] = defaultdict(list)
        for weekday, opens, closes in (
            OpeningHours.objects.for_tenant(tenant)
            .order_by("weekday", "opens")
            .values_list("weekday", "opens", "closes")
        ):
            by_weekday[weekday].append((opens, closes))
        return cls(
            tenant=tenant, settings=settings_for(tenant), zone=shop_zone(tenant), hours=dict(by_weekday)
        )

    def closed_between(self, start: date, end: date) -> dict[date, str]:
        """Closed days in [start, end] besides the weekly pattern, with the reason (one query per
        new range; a page asks for the same range more than once)."""
        if self.closed_loaded is None or not (
            self.closed_loaded[0] <= start and end <= self.closed_loaded[1]
        ):
            closed: dict[date, str] = {}
            if self.settings.closed_on_public_holidays:
                closed.update(public_holidays(start, end))
            for day, note in (
                ClosedDay.objects.for_tenant(self.tenant)
                .filter(date__range=(start, end))
                .values_list("date", "note")
            ):
                closed[day] = note or _("Closed")
            self.closed, self.closed_loaded = closed, (start, end)
        return {d: r for d, r in self.closed.items() if start <= d <= end}

    def today(self, now: datetime | None = None) -> date:
        return (now or timezone.now()).astimezone(self.zone).date()

    def window(self, now: datetime | None = None) -> tuple[datetime, date]:
        """(earliest bookable start, last bookable day) for online booking."""
        local_now = (now or timezone.now()).astimezone(self.zone)
        return (
            local_now + timedelta(hours=self.settings.lead_time_hours),
            local_now.date() + timedelta(days=self.settings.horizon_days),
        )


def closed_dates(tenant: Tenant, start: date, end: date, *, booking_settings: BookingSettings) -> dict:
    """Dates in [start, end] the shop is closed on besides its weekly pattern, with the reason."""
    calendar = ShopCalendar(tenant=tenant, settings=booking_settings, zone=shop_zone(tenant), hours={})
    return calendar.closed_between(start, end)


def candidate_starts(
    *, calendar: ShopCalendar, work_type: WorkType, start: date, end: date
) -> list[tuple[datetime, datetime]]:
    """Every (start, end) the opening pattern allows for this work type in [start, end], local time."""
    closed = calendar.closed_between(start, end)
    grid = timedelta(minutes=calendar.settings.slot_minutes)
    length = timedelta(minutes=work_type.duration_minutes)
    zone = calendar.zone
    starts: list[tuple[datetime, datetime]] = []
    day = start
    while day <= end:
        if day not in closed:
            for opens, closes in calendar.hours.get(day.weekday(), ()):
                at = datetime.combine(day, opens, tzinfo=zone)
                close_at = datetime.combine(day, closes, tzinfo=zone)
                while at + length <= close_at:
                    starts.append((at, at + length))
                    at += grid
        day += timedelta(days=1)
    return starts


def used_seats(*, tenant: Tenant, work_type: WorkType, first: datetime, last: datetime) -> dict[int, int]:
    """Claims per 15-minute cell of one work type in [first, last), keyed by the cell's epoch second:
    one GROUP BY over the (tenant, work type, start, seat) index. Integer keys, because hashing an
    aware datetime calls its time zone for every lookup."""
    rows = (
        SlotClaim.objects.for_tenant(tenant)
        .filter(work_type=work_type, starts_at__gte=first, starts_at__lt=last)
        .values("starts_at")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("starts_at", "n")
    )
    return {int(at.timestamp()): n for at, n in rows}


def free_slots(
    *,
    tenant: Tenant,
    work_type: WorkType,
    start: date,
    end: date,
    now: datetime | None = None,
    online: bool = True,
    exclude_booking=None,
    calendar: ShopCalendar | None = None,
) -> list[Slot]:
    """Free slots of `work_type` on the days [start, end] (the shop's local dates).

    `online=True` applies the lead time and the horizon (what a customer may book); staff booking
    by phone (`online=False`) see every open slot from now on. `exclude_booking`: the seats of this
    booking count as free (moving a booking may keep part of its own time).

    The seats in use are laid on an array with one entry per 15-minute cell of the window; a
    candidate's busiest cell is the max of its slice of that array.
    """
    calendar = calendar or ShopCalendar.load(tenant)
    now = now or timezone.now()
    if online:
        earliest, last_day = calendar.window(now)
        end = min(end, last_day)
    else:
        earliest = now.astimezone(calendar.zone)
    start = max(start, earliest.date())
    if end < start:
        return []
    candidates = [
        (s, e)
        for s, e in candidate_starts(calendar=calendar, work_type=work_type, start=start, end=end)
        if s >= earliest
    ]
    if not candidates:
        return []
    first, last = candidates[0][0], candidates[-1][1]
    used = used_seats(tenant=tenant, work_type=work_type, first=first, last=last)
    step = CLAIM_MINUTES * 60
    base = int(first.timestamp())
    busy = [0] * ((int(last.timestamp()) - base) // step + 1)
    for at, n in used.items():
        index = (at - base) // step
        if 0 <= index < len(busy):
            busy[index] = n
    if exclude_booking is not None:
        for cell in exclude_booking.claims.values_list("starts_at", flat=True):
            index = (int(cell.timestamp()) - base) // step
            if 0 <= index < len(busy) and busy[index]:
                busy[index] -= 1
    capacity = work_type.capacity
    width = math.ceil(work_type.duration_minutes / CLAIM_MINUTES)
    slots = []
    for s, e in candidates:
        index = (int(s.timestamp()) - base) // step
        busiest = max(busy[index : index + width])
        if busiest < capacity:
            slots.append(Slot(starts_at=s, ends_at=e, free=capacity - busiest))
    return slots


def slot_is_offered(
    *, tenant: Tenant, work_type: WorkType, starts_at: datetime, online: bool, now: datetime | None = None
) -> bool:
    """Whether `starts_at` is a start the opening pattern (and, online, the booking window) allows.

    Seats are not checked here: the claim insert is the check (see services._claim_seats).
    """
    calendar = ShopCalendar.load(tenant)
    local = starts_at.astimezone(calendar.zone)
    now = now or timezone.now()
    if online:
        earliest, last_day = calendar.window(now)
        if local < earliest or local.date() > last_day:
            return False
    elif local < now.astimezone(calendar.zone) - timedelta(days=1):
        return False  # staff may still enter today's walk-in, not book the past
    day = local.date()
    if online:
        candidates = candidate_starts(calendar=calendar, work_type=work_type, start=day, end=day)
        return any(s == local for s, _e in candidates)
    # By phone the shop may start at any 15-minute mark inside opening hours.
    if local.minute % CLAIM_MINUTES or day in calendar.closed_between(day, day):
        return False
    length = timedelta(minutes=work_type.duration_minutes)
    return any(
        datetime.combine(day, opens, tzinfo=calendar.zone) <= local
        and local + length <= datetime.combine(day, closes, tzinfo=calendar.zone)
        for opens, closes in calendar.hours.get(day.weekday(), ())
    )


@dataclass(frozen=True)
class SlotDay:
    day: date
    closed_reason: str  # "" when open
    slots: list[Slot]


def slot_days(
    *,
    tenant: Tenant,
    work_type: WorkType,
    first: date,
    days: int = 7,
    online: bool = True,
    exclude_booking=None,
    now: datetime | None = None,
    calendar: ShopCalendar | None = None,
) -> list[SlotDay]:
    """`days` consecutive days from `first` with their free slots (the public page shows a week)."""
    calendar = calendar or ShopCalendar.load(tenant)
    last = first + timedelta(days=days - 1)
    found = free_slots(
        tenant=tenant,
        work_type=work_type,
        start=first,
        end=last,
        now=now,
        online=online,
        exclude_booking=exclude_booking,
        calendar=calendar,
    )
    by_day: dict[date, list[Slot]] = defaultdict(list)
    for slot in found:
        by_day[slot.starts_at.date()].append(slot)
    closed = calendar.closed_between(first, last)
    too_soon_before = calendar.window(now)[0].date() if online else first
    result = []
    for i in range(days):
        day = first + timedelta(days=i)
        reason = closed.get(day, "") or ("" if calendar.hours.get(day.weekday()) else _("Regular holiday"))
        if not reason and day < too_soon_before:
            reason = _("Too soon to book online")
        result.append(SlotDay(day=day, closed_reason=reason, slots=by_day.get(day, [])))
    return result
