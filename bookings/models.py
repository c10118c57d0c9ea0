"""The shop's capacity (opening hours, closed days, work types) and its bookings.

Double booking is impossible by construction: a booking holds one `SlotClaim` per grid cell it
covers, each with a seat number 1..capacity, and (tenant, work type, cell start, seat) is unique.
Two requests racing for the last seat insert the same row; the database lets one win.
"""

from datetime import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from crm.tenancy.scoping import TenantOwned
from customers.models import Customer, ServiceKind, ServiceRecord, Vehicle, _same_tenant


class SlotGrid(models.IntegerChoices):
    MIN_15 = 15, _("15 minutes")
    MIN_30 = 30, _("30 minutes")
    MIN_60 = 60, _("60 minutes")


class BookingSettings(TenantOwned):
    """One row per shop: the grid, notice and horizon of online booking."""

    online_booking_enabled = models.BooleanField(_("online booking"), default=True)
    slot_minutes = models.PositiveSmallIntegerField(
        _("slot grid"), choices=SlotGrid.choices, default=SlotGrid.MIN_30
    )
    lead_time_hours = models.PositiveSmallIntegerField(
        _("minimum notice (hours)"), default=24, validators=[MaxValueValidator(24 * 30)]
    )
    horizon_days = models.PositiveSmallIntegerField(
        _("booking horizon (days)"), default=60, validators=[MinValueValidator(1), MaxValueValidator(365)]
    )
    closed_on_public_holidays = models.BooleanField(_("closed on public holidays (祝日)"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("booking settings")
        verbose_name_plural = _("booking settings")
        constraints = [models.UniqueConstraint(fields=["tenant"], name="bookingsettings_one_per_tenant")]


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class OpeningHours(TenantOwned):
    """The shop is open on `weekday` from `opens` to `closes` (several rows a day for a lunch break)."""

    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    opens = models.TimeField(_("opens"), default=time(9, 0))
    closes = models.TimeField(_("closes"), default=time(18, 0))

    class Meta:
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")
        ordering = ["weekday", "opens"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "weekday", "opens"], name="openinghours_unique"),
            models.CheckConstraint(condition=Q(opens__lt=F("closes")), name="openinghours_opens_before"),
        ]

    def clean(self):
        if self.opens and self.closes and self.opens >= self.closes:
            raise ValidationError({"closes": _("Closing time must be after opening time.")})


class ClosedDay(TenantOwned):
    """A day the shop is closed besides the weekly pattern (年末年始, お盆, staff training…)."""

    date = models.DateField(_("date"))
    note = models.CharField(_("note"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("closed day")
        verbose_name_plural = _("closed days")
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["tenant", "date"], name="closedday_unique")]


class WorkType(TenantOwned):
    """Bookable work: how long it takes and how many can run at once (pits / bays)."""

    code = models.SlugField(_("code"), max_length=30)
    name = models.CharField(_("name"), max_length=60)
    # The service record a completed booking becomes.
    service_kind = models.CharField(_("service kind"), max_length=20, choices=ServiceKind.choices)
    duration_minutes = models.PositiveSmallIntegerField(
        _("duration (minutes)"), default=60, validators=[MinValueValidator(15), MaxValueValidator(600)]
    )
    capacity = models.PositiveSmallIntegerField(
        _("at the same time (pits)"), default=1, validators=[MinValueValidator(1), MaxValueValidator(50)]
    )
    bookable_online = models.BooleanField(_("bookable online"), default=True)
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("work type")
        verbose_name_plural = _("work types")
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "code"], name="worktype_unique_code")]

    def __str__(self):
        return self.name


class BookingStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")  # booked online, not yet confirmed by the shop
    CONFIRMED = "confirmed", _("Confirmed")
    ARRIVED = "arrived", _("Arrived")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")
    NO_SHOW = "no_show", _("No-show")


# Statuses that hold their seats in the pit. A cancelled or no-show booking gives them back.
HOLDING_STATUSES = (
    BookingStatus.REQUESTED,
    BookingStatus.CONFIRMED,
    BookingStatus.ARRIVED,
    BookingStatus.DONE,
)
# What the customer may still change from their confirmation link.
CUSTOMER_CHANGEABLE = (BookingStatus.REQUESTED, BookingStatus.CONFIRMED)


class BookingSource(models.TextChoices):
    REMINDER = "reminder", _("Online, from a reminder")
    ONLINE = "online", _("Online, shop link")
    PHONE = "phone", _("Phone / counter")
    API = "api", _("API")


class Booking(TenantOwned):
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="bookings"
    )
    vehicle = models.ForeignKey(
        Vehicle, verbose_name=_("vehicle"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    work_type = models.ForeignKey(
        WorkType, verbose_name=_("work type"), on_delete=models.PROTECT, related_name="bookings"
    )
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    status = models.CharField(
        _("status"), max_length=10, choices=BookingStatus.choices, default=BookingStatus.REQUESTED
    )
    source = models.CharField(_("source"), max_length=10, choices=BookingSource.choices)
    # The reminder whose link was used (reminders cannot import bookings; the link points down).
    reminder = models.ForeignKey(
        "reminders.Reminder", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    customer_note = models.CharField(_("customer's note"), max_length=500, blank=True)
    staff_note = models.CharField(_("staff note"), max_length=500, blank=True)
    # LINE contact given on the public form; the channels work (LINE) decides how to use it.
    line_id = models.CharField(_("LINE ID"), max_length=50, blank=True)
    service_record = models.OneToOneField(
        ServiceRecord, null=True, blank=True, on_delete=models.SET_NULL, related_name="booking"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("booking")
        verbose_name_plural = _("bookings")
        constraints = [
            models.CheckConstraint(condition=Q(starts_at__lt=F("ends_at")), name="booking_starts_before_end")
        ]
        indexes = [
            models.Index(fields=["tenant", "starts_at"], name="booking_tenant_starts"),
            models.Index(fields=["tenant", "status", "starts_at"], name="booking_tenant_status"),
            models.Index(fields=["tenant", "customer", "starts_at"], name="booking_tenant_customer"),
            models.Index(fields=["tenant", "updated_at", "id"], name="booking_tenant_updated"),
        ]

    def __str__(self):
        return f"{self.work_type_id} {self.starts_at:%Y-%m-%d %H:%M} ({self.status})"

    def clean(self):
        _same_tenant(self, self.customer if self.customer_id else None, "customer")
        _same_tenant(self, self.work_type if self.work_type_id else None, "work_type")
        if self.vehicle_id:
            _same_tenant(self, self.vehicle, "vehicle")
            if self.customer_id and self.vehicle.customer_id != self.customer_id:
                raise ValidationError({"vehicle": _("This vehicle belongs to another customer.")})


class SlotClaim(TenantOwned):
    """One seat of one grid cell held by a booking: the database's double-booking guard.

    A booking of 90 minutes on a 30-minute grid holds three cells; in each a seat 1..capacity.
    The unique constraint is the guard; the seat numbers carry no meaning beyond it (they do not
    name a physical pit).
    """

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="claims")
    work_type = models.ForeignKey(WorkType, on_delete=models.CASCADE, related_name="+")
    starts_at = models.DateTimeField()
    seat = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "work_type", "starts_at", "seat"], name="slotclaim_one_booking_per_seat"
            )
        ]
        indexes = [models.Index(fields=["tenant", "booking"], name="slotclaim_tenant_booking")]
