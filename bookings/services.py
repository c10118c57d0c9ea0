"""Write use-cases of bookings: capacity set-up, booking, moving, cancelling, the day's work, completion."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bookings import messages, slot_cache
from bookings import slots as slot_math
from bookings.models import (
    CUSTOMER_CHANGEABLE,
    Booking,
    BookingSettings,
    BookingSource,
    BookingStatus,
    ClosedDay,
    OpeningHours,
    SlotClaim,
    WorkType,
)
from crm.common.errors import ApplicationError
from crm.common.services import model_update
from crm.models import Tenant, User
from customers.models import AcquisitionChannel, Customer, ServiceKind, Vehicle
from customers.services import customer_create, service_record_create, vehicle_create

CLAIM_RETRIES = 3  # re-reads after losing a seat to a concurrent booking, before "just taken"


class SlotTaken(ApplicationError):
    """Someone else took the last seat of this slot a moment ago."""

    def __init__(self, message=None):
        super().__init__(message or _("This time was just taken. Please pick another one."))


class SlotNotOffered(ApplicationError):
    """The time is outside the opening hours, the notice period or the horizon."""

    def __init__(self, message=None):
        super().__init__(message or _("This time cannot be booked. Please pick one of the times shown."))


class BookingStateError(ApplicationError):
    """The booking is not in a state that allows this step (e.g. completing a cancelled one)."""


# --- capacity -------------------------------------------------------------------------------------
DEFAULT_WORK_TYPES = [
    # (code, name, service kind, minutes, pits)
    ("shaken", "車検", ServiceKind.SHAKEN, 120, 2),
    ("check_12m", "法定12ヶ月点検", ServiceKind.CHECK_12M, 90, 2),
    ("oil_change", "オイル交換", ServiceKind.OIL_CHANGE, 30, 2),
    ("tyre_change", "タイヤ交換", ServiceKind.TYRE_CHANGE, 60, 2),
    ("repair_estimate", "修理のお見積り", ServiceKind.REPAIR, 30, 1),
]
SETTINGS_FIELDS = [
    "online_booking_enabled",
    "slot_minutes",
    "lead_time_hours",
    "horizon_days",
    "closed_on_public_holidays",
]
WORK_TYPE_FIELDS = [
    "code",
    "name",
    "service_kind",
    "duration_minutes",
    "capacity",
    "bookable_online",
    "is_active",
    "position",
]


@transaction.atomic
def booking_defaults_create(*, tenant: Tenant) -> list[WorkType]:
    """Give a shop a starting capacity: Mon–Sat 9:00–12:00 and 13:00–18:00, five work types.

    Safe to call twice: it does nothing once the shop has work types.
    """
    if WorkType.objects.for_tenant(tenant).exists():
        return list(WorkType.objects.for_tenant(tenant))
    slot_cache.slots_changed(tenant_id=tenant.pk)
    BookingSettings.objects.bulk_create([BookingSettings(tenant=tenant)], ignore_conflicts=True)
    OpeningHours.objects.bulk_create(
        [
            OpeningHours(tenant=tenant, weekday=day, opens=opens, closes=closes)
            for day in range(6)
            for opens, closes in ((time(9), time(12)), (time(13), time(18)))
        ],
        ignore_conflicts=True,
    )
    return WorkType.objects.bulk_create(
        [
            WorkType(
                tenant=tenant,
                code=code,
                name=name,
                service_kind=kind,
                duration_minutes=minutes,
                capacity=pits,
                position=i,
            )
            for i, (code, name, kind, minutes, pits) in enumerate(DEFAULT_WORK_TYPES)
        ]
    )


@transaction.atomic
def booking_settings_update(*, tenant: Tenant, data: dict[str, Any]) -> BookingSettings:
    slot_cache.slots_changed(tenant_id=tenant.pk)
    current = BookingSettings.objects.for_tenant(tenant).select_for_update().first()
    if current is None:
        current = BookingSettings(tenant=tenant)
        current.full_clean()
        current.save()
    current, _changed = model_update(instance=current, fields=SETTINGS_FIELDS, data=data)
    return current


def _check_quarter_hour(value: time | None, field: str) -> None:
    if value is not None and value.minute % slot_math.CLAIM_MINUTES:
        raise ValidationError({field: _("Use a time on the quarter hour (e.g. 9:00, 9:15).")})


@transaction.atomic
def opening_hours_replace(*, tenant: Tenant, intervals: list[tuple[int, time, time]]) -> list[OpeningHours]:
    """Replace the weekly pattern with `intervals` (weekday, opens, closes). Existing bookings stay."""
    rows = []
    for weekday, opens, closes in intervals:
        _check_quarter_hour(opens, "opens")
        _check_quarter_hour(closes, "closes")
        row = OpeningHours(tenant=tenant, weekday=weekday, opens=opens, closes=closes)
        # Not against the stored rows: they are replaced below (an unchanged 9:00 opening is no clash).
        row.full_clean(validate_unique=False, validate_constraints=False)
        rows.append(row)
    if len({(r.weekday, r.opens) for r in rows}) < len(rows):
        raise ValidationError({"opens": _("Two opening times on the same day start at the same time.")})
    OpeningHours.objects.for_tenant(tenant).delete()
    slot_cache.slots_changed(tenant_id=tenant.pk)
    return OpeningHours.objects.bulk_create(rows)


@transaction.atomic
def work_type_save(*, tenant: Tenant, work_type: WorkType | None = None, data: dict[str, Any]) -> WorkType:
    """Create or change a work type. A shorter duration or fewer pits never cancels existing bookings."""
    slot_cache.slots_changed(tenant_id=tenant.pk)
    if work_type is None:
        work_type = WorkType(tenant=tenant, **{f: data[f] for f in WORK_TYPE_FIELDS if f in data})
        work_type.full_clean()
        work_type.save()
        return work_type
    if work_type.tenant_id != tenant.pk:
        raise ApplicationError(_("Work type not found."))
    work_type, _changed = model_update(instance=work_type, fields=WORK_TYPE_FIELDS, data=data)
    return work_type


@transaction.atomic
def closed_day_add(*, tenant: Tenant, day: date, note: str = "") -> ClosedDay:
    closed = ClosedDay(tenant=tenant, date=day, note=note)
    closed.full_clean()
    closed.save()
    slot_cache.slots_changed(tenant_id=tenant.pk)
    return closed


@transaction.atomic
def closed_day_delete(*, tenant: Tenant, closed_day: ClosedDay) -> None:
    ClosedDay.objects.for_tenant(tenant).filter(pk=closed_day.pk).delete()
    slot_cache.slots_changed(tenant_id=tenant.pk)


# --- seats ----------------------------------------------------------------------------------------
def _claim_seats(*, tenant: Tenant, booking: Booking) -> None:
    """Hold one seat in every 15-minute cell the booking covers, or raise SlotTaken.

    Reads the seats in use, picks the lowest free one per cell and inserts the claims in a
    savepoint. A concurrent booking that inserted the same (cell, seat) first makes the insert fail
    on the unique constraint (on PostgreSQL the insert waits for the other transaction, then fails
    if it committed); the savepoint is rolled back and the seats are read again. With the slot
    full, SlotTaken: the caller's transaction then rolls the booking back as well.
    """
    work_type = booking.work_type
    cells = slot_math.claim_cells(booking.starts_at, work_type.duration_minutes)
    for _attempt in range(CLAIM_RETRIES):
        taken: dict[datetime, set[int]] = {cell: set() for cell in cells}
        for cell, seat in (
            SlotClaim.objects.for_tenant(tenant)
            .filter(work_type=work_type, starts_at__in=cells)
            .values_list("starts_at", "seat")
        ):
            taken.setdefault(cell, set()).add(seat)
        claims = []
        for cell in cells:
            free = [s for s in range(1, work_type.capacity + 1) if s not in taken.get(cell, ())]
            if not free:
                raise SlotTaken()
            claims.append(
                SlotClaim(tenant=tenant, booking=booking, work_type=work_type, starts_at=cell, seat=free[0])
            )
        try:
            with transaction.atomic():
                SlotClaim.objects.bulk_create(claims)
        except IntegrityError:
            continue
        slot_cache.slots_changed(tenant_id=tenant.pk)
        return
    raise SlotTaken()


def _release_seats(*, tenant: Tenant, booking: Booking) -> None:
    SlotClaim.objects.for_tenant(tenant).filter(booking=booking).delete()
    slot_cache.slots_changed(tenant_id=tenant.pk)


def _locked(tenant: Tenant, booking: Booking) -> Booking:
    """The booking row, locked: two clicks on "done" cannot create two service records."""
    return (
        Booking.objects.for_tenant(tenant)
        .select_for_update(of=("self",))
        .select_related("work_type", "customer", "vehicle")
        .get(pk=booking.pk)
    )


def _require(booking: Booking, allowed: tuple, what: str) -> None:
    if booking.status not in allowed:
        raise BookingStateError(
            _("A booking that is “%(status)s” cannot be %(what)s.")
            % {"status": booking.get_status_display(), "what": what}
        )


# --- booking --------------------------------------------------------------------------------------
ONLINE_SOURCES = (BookingSource.REMINDER, BookingSource.ONLINE)


@transaction.atomic
def booking_create(
    *,
    tenant: Tenant,
    customer: Customer,
    work_type: WorkType,
    starts_at: datetime,
    source: str,
    vehicle: Vehicle | None = None,
    reminder=None,
    created_by: User | None = None,
    customer_note: str = "",
    staff_note: str = "",
    line_id: str = "",
    now: datetime | None = None,
    online_rules: bool | None = None,
    notify: bool = True,
) -> Booking:
    """Book `work_type` at `starts_at` for a customer; raises SlotTaken when the seats are gone.

    Online bookings (from a reminder link or the shop link) are `requested` until the shop
    confirms them, and must respect the lead time and horizon; bookings entered by staff are
    `confirmed` at once and may use any quarter hour inside the opening hours. `online_rules`
    overrides which of the two windows applies (the demo data books online requests for today);
    `notify=False` sends no confirmation (demo data, an import of bookings made elsewhere).
    """
    online = source in ONLINE_SOURCES
    if online and not (work_type.bookable_online and work_type.is_active):
        raise SlotNotOffered()
    if not slot_math.slot_is_offered(
        tenant=tenant,
        work_type=work_type,
        starts_at=starts_at,
        online=online if online_rules is None else online_rules,
        now=now,
    ):
        raise SlotNotOffered()
    booking = Booking(
        tenant=tenant,
        customer=customer,
        vehicle=vehicle,
        work_type=work_type,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=work_type.duration_minutes),
        status=BookingStatus.REQUESTED if online else BookingStatus.CONFIRMED,
        source=source,
        reminder=reminder,
        created_by=created_by,
        customer_note=customer_note,
        staff_note=staff_note,
        line_id=line_id,
        confirmed_at=None if online else timezone.now(),
    )
    booking.full_clean()
    booking.save()
    _claim_seats(tenant=tenant, booking=booking)
    if notify:
        messages.on_booked(tenant=tenant, booking=booking)
    return booking


@transaction.atomic
def booking_create_for_new_customer(
    *,
    tenant: Tenant,
    work_type: WorkType,
    starts_at: datetime,
    family_name: str,
    given_name: str,
    family_name_kana: str,
    given_name_kana: str,
    phone: str,
    email: str,
    line_id: str,
    plate_number: str,
    maker: str = "",
    model_name: str = "",
    customer_note: str = "",
) -> Booking:
    """The shop link's form: a new customer (and their car) with their first booking, all or nothing.

    No attempt is made to match an existing customer: the form is public, and telling a stranger
    "we already know this phone number" would leak it. Staff merge duplicates.
    """
    if not (email or line_id):
        raise ValidationError({"email": _("Give an e-mail address or a LINE ID so we can confirm.")})
    customer = customer_create(
        tenant=tenant,
        family_name=family_name,
        given_name=given_name,
        family_name_kana=family_name_kana,
        given_name_kana=given_name_kana,
        phone=phone,
        email=email,
        acquisition_channel=AcquisitionChannel.WEBSITE,
        notes=_("Registered through online booking."),
    )
    vehicle = vehicle_create(
        tenant=tenant,
        customer=customer,
        plate_number=plate_number,
        maker=maker or "—",
        model_name=model_name or "—",
    )
    return booking_create(
        tenant=tenant,
        customer=customer,
        vehicle=vehicle,
        work_type=work_type,
        starts_at=starts_at,
        source=BookingSource.ONLINE,
        customer_note=customer_note,
        line_id=line_id,
    )


@transaction.atomic
def booking_move(
    *,
    tenant: Tenant,
    booking: Booking,
    starts_at: datetime,
    by_customer: bool = False,
    now: datetime | None = None,
) -> Booking:
    """Move a booking to another start: the old seats are freed and the new ones taken in one
    transaction, so a failed move (SlotTaken) leaves the booking where it was."""
    booking = _locked(tenant, booking)
    _require(booking, CUSTOMER_CHANGEABLE, gettext_lazy("moved"))
    online = by_customer
    if not slot_math.slot_is_offered(
        tenant=tenant, work_type=booking.work_type, starts_at=starts_at, online=online, now=now
    ):
        raise SlotNotOffered()
    previous_day = booking.starts_at.astimezone(slot_math.shop_zone(tenant)).date()
    _release_seats(tenant=tenant, booking=booking)
    booking.starts_at = starts_at
    booking.ends_at = starts_at + timedelta(minutes=booking.work_type.duration_minutes)
    if by_customer:
        booking.status = BookingStatus.REQUESTED  # the shop looks at the new time again
        booking.confirmed_at = None
    booking.full_clean()
    booking.save(update_fields=["starts_at", "ends_at", "status", "confirmed_at", "updated_at"])
    _claim_seats(tenant=tenant, booking=booking)
    messages.on_moved(tenant=tenant, booking=booking, previous_day=previous_day)
    return booking


@transaction.atomic
def booking_cancel(
    *, tenant: Tenant, booking: Booking, reason: str = "", by_customer: bool = False
) -> Booking:
    """Cancel: the seats are free again at once; the day-before message is not sent."""
    booking = _locked(tenant, booking)
    _require(booking, CUSTOMER_CHANGEABLE, gettext_lazy("cancelled"))
    _release_seats(tenant=tenant, booking=booking)
    booking.status = BookingStatus.CANCELLED
    booking.cancelled_at = timezone.now()
    booking.cancel_reason = reason or (_("Cancelled by the customer") if by_customer else "")
    booking.save(update_fields=["status", "cancelled_at", "cancel_reason", "updated_at"])
    messages.on_cancelled(tenant=tenant, booking=booking)
    return booking


@transaction.atomic
def booking_confirm(*, tenant: Tenant, booking: Booking) -> Booking:
    booking = _locked(tenant, booking)
    _require(booking, (BookingStatus.REQUESTED,), gettext_lazy("confirmed"))
    booking.status = BookingStatus.CONFIRMED
    booking.confirmed_at = timezone.now()
    booking.save(update_fields=["status", "confirmed_at", "updated_at"])
    return booking


@transaction.atomic
def booking_mark_arrived(*, tenant: Tenant, booking: Booking) -> Booking:
    booking = _locked(tenant, booking)
    _require(booking, CUSTOMER_CHANGEABLE, gettext_lazy("marked arrived"))
    booking.status = BookingStatus.ARRIVED
    booking.save(update_fields=["status", "updated_at"])
    return booking


@transaction.atomic
def booking_mark_no_show(*, tenant: Tenant, booking: Booking) -> Booking:
    """The customer did not come: the rest of the time is free for a walk-in."""
    booking = _locked(tenant, booking)
    _require(booking, CUSTOMER_CHANGEABLE, gettext_lazy("marked as no-show"))
    _release_seats(tenant=tenant, booking=booking)
    booking.status = BookingStatus.NO_SHOW
    booking.save(update_fields=["status", "updated_at"])
    messages.on_cancelled(tenant=tenant, booking=booking)
    return booking


@transaction.atomic
def booking_complete(
    *,
    tenant: Tenant,
    booking: Booking,
    mileage: int | None = None,
    amount: int = 0,
    notes: str = "",
    on: date | None = None,
) -> Booking:
    """The work is done: the booking becomes the vehicle's ServiceRecord (kind, vehicle, customer and
    date from the booking; mileage and amount from the form), nothing typed twice."""
    booking = _locked(tenant, booking)
    _require(
        booking,
        (BookingStatus.REQUESTED, BookingStatus.CONFIRMED, BookingStatus.ARRIVED),
        gettext_lazy("completed"),
    )
    if booking.vehicle_id is None:
        raise ValidationError({"vehicle": _("Add the vehicle to the booking before completing it.")})
    record = service_record_create(
        tenant=tenant,
        customer=booking.customer,
        vehicle=booking.vehicle,
        kind=booking.work_type.service_kind,
        date=on or booking.starts_at.astimezone(slot_math.shop_zone(tenant)).date(),
        mileage=mileage,
        amount=amount,
        notes=notes,
    )
    booking.status = BookingStatus.DONE
    booking.service_record = record
    booking.save(update_fields=["status", "service_record", "updated_at"])
    return booking


@transaction.atomic
def booking_update_vehicle(*, tenant: Tenant, booking: Booking, vehicle: Vehicle | None) -> Booking:
    booking = _locked(tenant, booking)
    booking.vehicle = vehicle
    booking.full_clean()
    booking.save(update_fields=["vehicle", "updated_at"])
    return booking
