"""A short-lived cache of what the public booking page and the slots API offer.

Computing a week of free times costs four queries and a pass over the claim grid, and the public
page is opened far more often than anyone books. So the answers are kept for at most
`SLOT_CACHE_SECONDS`, per shop and per question (work type, days, language), together with the
shop's booking catalogue (work types, settings, weekly hours).

Correctness does not rest on this cache: the claim insert (services._claim_seats, a unique
constraint) is the only check that a seat is free. The cache only decides what is *offered*, and is
stale in one direction at worst: a time that was just taken can still be shown, and booking it then
fails with "just taken, please pick another" (the view then drops the shop's entries, so the page it
shows next is fresh). A stale entry never makes a taken seat bookable.

Invalidation: every entry is stored with the shop's version; a seat claim or release and every
change of capacity (settings, hours, closed days, work types) replaces the version once its
transaction has committed (before the commit, a reader would cache the old rows under the new
version). A request reads the version once (`for_shop`) and uses an entry only when it was stored
under that version. Entries expire after SLOT_CACHE_SECONDS in any case: the lead time moves with
the clock, and the shop's time zone (a Tenant field) is not versioned.

Where entries live: in Django's default cache, and each process keeps the last entries it used in
memory as well (`_LOCAL`, bounded), so a hit costs one read of the version and no unpickling.

Per-process caches: with the embedded default (LocMemCache) a version bump reaches only the process
that made it, and the other processes offer their entries until they expire. With several web
processes set CACHE_URL=redis://… (crm/settings.py; docker-compose.yml does) so they share it.
A cache that fails (Redis down) is logged and the answer computed: the page keeps working.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.core.cache import cache
from django.db import transaction
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe

from bookings import slots as slot_math
from bookings.models import BookingSettings, OpeningHours, WorkType
from crm.models import Tenant

logger = logging.getLogger(__name__)

SLOT_CACHE_SECONDS = 30
CATALOGUE_CACHE_SECONDS = 300  # versioned like the slots; the timeout only bounds memory
LOCAL_ENTRIES = 512  # entries each process keeps unpickled

_LOCAL: OrderedDict[str, tuple[int, float, object]] = OrderedDict()  # key -> (version, expires, value)
_LOCAL_LOCK = threading.Lock()


def _version_key(tenant_id: int) -> str:
    return f"bookings:slots-version:{tenant_id}"


def _new_version(tenant_id: int) -> None:
    # A fresh value, never a counter: a version evicted from the cache and created again must not
    # match entries stored under the old one.
    try:
        cache.set(_version_key(tenant_id), time.time_ns(), timeout=None)
    except Exception:  # the claim is the check: a lost bump costs SLOT_CACHE_SECONDS of staleness at most
        logger.warning("booking slot cache: version bump failed for tenant %s", tenant_id, exc_info=True)


def slots_changed(*, tenant_id: int) -> None:
    """Seats or capacity of this shop change in the current transaction: drop its cached answers
    once it commits (nothing happens if it rolls back)."""
    transaction.on_commit(lambda: _new_version(tenant_id), robust=True)


def forget_now(*, tenant_id: int) -> None:
    """Drop the shop's cached answers at once (a claim just found a cached time taken)."""
    _new_version(tenant_id)


def _current_version(tenant_id: int) -> int | None:
    key = _version_key(tenant_id)
    try:
        version = cache.get(key)
        if version is None:
            cache.add(key, time.time_ns(), timeout=None)
            version = cache.get(key)  # another process may have added its own first
    except Exception:
        logger.warning("booking slot cache unavailable; computing", exc_info=True)
        return None
    return version


# --- the shop's catalogue ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Catalogue:
    """What every public page and slots answer of a shop reads first: its work types (all, in order),
    booking settings and weekly opening hours."""

    work_types: tuple[WorkType, ...]
    settings: BookingSettings
    hours: dict[int, list]

    @property
    def online_work_types(self) -> list[WorkType]:
        return [w for w in self.work_types if w.is_active and w.bookable_online]

    def work_type(self, pk: int) -> WorkType | None:
        return next((w for w in self.work_types if w.pk == pk), None)

    def calendar(self, tenant: Tenant) -> slot_math.ShopCalendar:
        """A fresh ShopCalendar (it keeps closed days per instance) on the cached hours and settings."""
        return slot_math.ShopCalendar(
            tenant=tenant, settings=self.settings, zone=slot_math.shop_zone(tenant), hours=self.hours
        )


def _load_catalogue(tenant: Tenant) -> Catalogue:
    hours: dict[int, list] = {}
    for weekday, opens, closes in (
        OpeningHours.objects.for_tenant(tenant)
        .order_by("weekday", "opens")
        .values_list("weekday", "opens", "closes")
    ):
        hours.setdefault(weekday, []).append((opens, closes))
    return Catalogue(
        work_types=tuple(WorkType.objects.for_tenant(tenant).order_by("position", "id")),
        settings=slot_math.settings_for(tenant),
        hours=hours,
    )


# --- one request's view of the cache -----------------------------------------------------------------
class ShopCache:
    """The cached answers of one shop as of the version read when the request started."""

    def __init__(self, tenant: Tenant):
        self.tenant = tenant
        self.version = _current_version(tenant.pk)
        self._catalogue: Catalogue | None = None

    def _get(self, key: str, compute: Callable[[], object], timeout: int):
        if self.version is None:  # no cache reachable
            return compute()
        now = time.time()
        with _LOCAL_LOCK:
            local = _LOCAL.get(key)
            if local is not None and local[0] == self.version and local[1] > now:
                _LOCAL.move_to_end(key)
                return local[2]
        try:
            entry = cache.get(key)
        except Exception:
            logger.warning("booking slot cache unavailable; computing", exc_info=True)
            entry = None
        if entry is not None and entry[0] == self.version:
            _version, expires, value = entry
        else:
            value, expires = compute(), now + timeout
            try:
                cache.set(key, (self.version, expires, value), timeout)
            except Exception:
                logger.warning("booking slot cache: store failed", exc_info=True)
        with _LOCAL_LOCK:
            _LOCAL[key] = (self.version, expires, value)
            _LOCAL.move_to_end(key)
            while len(_LOCAL) > LOCAL_ENTRIES:
                _LOCAL.popitem(last=False)
        return value

    def forget(self) -> None:
        """Drop the shop's cached answers now, and answer from fresh ones for the rest of the request."""
        _new_version(self.tenant.pk)
        self.version = _current_version(self.tenant.pk)

    def catalogue(self) -> Catalogue:
        if self._catalogue is None:
            self._catalogue = self._get(
                f"bookings:catalogue:{self.tenant.pk}",
                lambda: _load_catalogue(self.tenant),
                CATALOGUE_CACHE_SECONDS,
            )
        return self._catalogue

    def _week_key(self, kind: str, work_type: WorkType, first: date, days: int, calendar) -> str:
        # The day labels are translated, so the language is part of the key.
        return (
            f"bookings:{kind}:{self.tenant.pk}:{work_type.pk}:{first.isoformat()}:{days}:"
            f"{calendar.today().isoformat()}:{translation.get_language()}"
        )

    def week(
        self, *, work_type: WorkType, first: date, days: int, calendar: slot_math.ShopCalendar
    ) -> list[slot_math.SlotDay]:
        """`slot_math.slot_days` for online booking (the public page)."""
        return self._get(
            self._week_key("week", work_type, first, days, calendar),
            lambda: slot_math.slot_days(
                tenant=self.tenant, work_type=work_type, first=first, days=days, calendar=calendar
            ),
            SLOT_CACHE_SECONDS,
        )

    def week_html(
        self,
        *,
        work_type: WorkType,
        first: date,
        days: int,
        calendar: slot_math.ShopCalendar,
        render: Callable[[], str],
    ) -> SafeString:
        """The public page's week of times as rendered HTML (`render()` on a miss).

        The fragment holds only times, day names and the shop's closed-day notes (escaped when
        rendered), the same for every customer of the shop: never anything of one customer."""
        html = self._get(
            self._week_key("week-html", work_type, first, days, calendar),
            lambda: str(render()),
            SLOT_CACHE_SECONDS,
        )
        return mark_safe(html)  # noqa: S308 - our own template's output, rendered with autoescaping

    def slots_answer(
        self, *, work_type: WorkType, start: date, end: date, online: bool, calendar
    ) -> list[dict]:
        """The slots API's answer (plain dicts in SlotSerializer's shape)."""
        key = (
            f"bookings:api:{self.tenant.pk}:{work_type.pk}:{start.isoformat()}:{end.isoformat()}:"
            f"{int(online)}:{calendar.today().isoformat()}"
        )

        def compute() -> list[dict]:
            found = slot_math.free_slots(
                tenant=self.tenant,
                work_type=work_type,
                start=start,
                end=end,
                online=online,
                calendar=calendar,
            )
            return [
                {
                    "work_type": work_type.pk,
                    "starts_at": s.starts_at.isoformat(),
                    "ends_at": s.ends_at.isoformat(),
                    "free": s.free,
                }
                for s in found
            ]

        return self._get(key, compute, SLOT_CACHE_SECONDS)


def for_shop(tenant: Tenant) -> ShopCache:
    return ShopCache(tenant)
