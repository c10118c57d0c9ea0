"""Staff pages of bookings: the day/week calendar with its actions, booking by phone, capacity settings."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from bookings import selectors, services
from bookings import slots as slot_math
from bookings.forms import (
    BookingSettingsForm,
    ClosedDayForm,
    CompleteForm,
    OpeningHoursForm,
    WorkTypeForm,
    parse_slot,
)
from bookings.models import BookingSource, BookingStatus, ClosedDay, Weekday
from bookings.tokens import shop_token
from crm.tenancy.permissions import tenant_view
from crm.tenancy.roles import EDIT_CUSTOMERS, EDIT_RULES
from customers.models import Vehicle, VehicleStatus
from customers.selectors import customer_get

ACTIONS = {
    "confirm": (services.booking_confirm, gettext_lazy("Booking confirmed.")),
    "arrived": (services.booking_mark_arrived, gettext_lazy("Marked as arrived.")),
    "no_show": (services.booking_mark_no_show, gettext_lazy("Marked as no-show.")),
    "cancel": (services.booking_cancel, gettext_lazy("Booking cancelled.")),
}
PHONE_DAYS = 7


def _today(tenant) -> date:
    return timezone.now().astimezone(slot_math.shop_zone(tenant)).date()


def _parse_day(value: str | None, default: date) -> date:
    try:
        return date.fromisoformat(value or "")
    except ValueError:
        return default


@tenant_view()
def calendar(request):
    """Day or week of bookings, one column per work type (server-rendered; htmx swaps one card)."""
    tenant = request.tenant
    view = "week" if request.GET.get("view") == "week" else "day"
    day = _parse_day(request.GET.get("date"), _today(tenant))
    if view == "week":
        first = day - timedelta(days=day.weekday())
        last = first + timedelta(days=6)
    else:
        first = last = day
    work_types = list(selectors.work_types(tenant=tenant))
    zone = slot_math.shop_zone(tenant)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    grid = {(d, w.pk): [] for d in days for w in work_types}
    if view == "week":
        # A week holds hundreds of bookings: plain rows and one pre-rendered line each (the day
        # view has the full cards with their actions).
        bookings = list(selectors.calendar_week_rows(tenant=tenant, first=first, last=last))
        labels = dict(BookingStatus.choices)
        for b in bookings:
            local = b["starts_at"].astimezone(zone)
            b["time"] = f"{local:%H:%M}"
            b["requested_label"] = labels[b["status"]] if b["status"] == BookingStatus.REQUESTED else ""
            grid.setdefault((local.date(), b["work_type_id"]), []).append(b)
        unconfirmed = sum(1 for b in bookings if b["status"] == BookingStatus.REQUESTED)
    else:
        bookings = list(
            selectors.bookings_between(tenant=tenant, first=first, last=last, include_cancelled=True)
        )
        for b in bookings:
            b.local_start = b.starts_at.astimezone(zone)
            grid.setdefault((b.local_start.date(), b.work_type_id), []).append(b)
        unconfirmed = sum(1 for b in bookings if b.status == BookingStatus.REQUESTED)
    rows = [{"day": d, "cells": [grid.get((d, w.pk), []) for w in work_types]} for d in days]
    step = timedelta(days=7 if view == "week" else 1)
    context = {
        "view": view,
        "day": day,
        "first": first,
        "last": last,
        "rows": rows,
        "work_types": work_types,
        "previous": first - step if view == "week" else day - step,
        "next": first + step if view == "week" else day + step,
        "today": _today(tenant),
        "unconfirmed": unconfirmed,
        "can_edit": request.membership.has_role(EDIT_CUSTOMERS),
    }
    return render(request, "bookings/calendar.html", context)


def _back(request, booking):
    local = booking.starts_at.astimezone(slot_math.shop_zone(request.tenant))
    view = request.POST.get("view") or request.GET.get("view") or "day"
    return redirect(f"{reverse('bookings:calendar')}?date={local.date().isoformat()}&view={view}")


def _card(request, booking, *, error: str = ""):
    booking.local_start = booking.starts_at.astimezone(slot_math.shop_zone(request.tenant))
    return render(
        request,
        "bookings/_booking_card.html",
        {"b": booking, "can_edit": True, "error": error, "view": request.POST.get("view", "day")},
    )


@require_POST
@tenant_view(write=EDIT_CUSTOMERS)
def booking_action(request, pk: int, action: str):
    """confirm / arrived / no_show / cancel: one service each; htmx gets the updated card back."""
    if action not in ACTIONS:
        raise Http404
    service, done = ACTIONS[action]
    booking = selectors.booking_get(tenant=request.tenant, pk=pk)
    try:
        booking = service(tenant=request.tenant, booking=booking)
    except services.BookingStateError as exc:
        if request.htmx:
            return _card(request, booking, error=exc.message)
        messages.error(request, exc.message)
        return _back(request, booking)
    if request.htmx:
        return _card(request, selectors.booking_get(tenant=request.tenant, pk=pk))
    messages.success(request, done)
    return _back(request, booking)


@tenant_view(write=EDIT_CUSTOMERS)
def booking_move(request, pk: int):
    """Pick another free time for a booking (staff see every open time, not only the online window)."""
    tenant = request.tenant
    booking = selectors.booking_get(tenant=tenant, pk=pk)
    error = ""
    if request.method == "POST":
        starts_at = parse_slot(request.POST.get("slot", ""), slot_math.shop_zone(tenant))
        try:
            if starts_at is None:
                raise services.SlotNotOffered(_("Please pick a time."))
            booking = services.booking_move(tenant=tenant, booking=booking, starts_at=starts_at)
        except (services.SlotTaken, services.SlotNotOffered, services.BookingStateError) as exc:
            error = exc.message
        else:
            messages.success(request, _("Booking moved."))
            return _back(request, booking)
    first = max(_parse_day(request.GET.get("from"), _today(tenant)), _today(tenant))
    days = slot_math.slot_days(
        tenant=tenant,
        work_type=booking.work_type,
        first=first,
        days=PHONE_DAYS,
        online=False,
        exclude_booking=booking,
    )
    return render(
        request,
        "bookings/booking_move.html",
        {
            "booking": booking,
            "days": days,
            "error": error,
            "local_start": booking.starts_at.astimezone(slot_math.shop_zone(tenant)),
            "next_day": first + timedelta(days=PHONE_DAYS),
            "previous_day": first - timedelta(days=PHONE_DAYS) if first > _today(tenant) else None,
        },
        status=409 if error else 200,
    )


@tenant_view(write=EDIT_CUSTOMERS)
def booking_done(request, pk: int):
    """The work is done: mileage (and amount) → the service record, prefilled from the booking."""
    tenant = request.tenant
    booking = selectors.booking_get(tenant=tenant, pk=pk)
    form = CompleteForm(
        request.POST or None, initial={"mileage": booking.vehicle.mileage if booking.vehicle else None}
    )
    if request.method == "POST" and form.is_valid():
        try:
            booking = services.booking_complete(tenant=tenant, booking=booking, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        except services.BookingStateError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Done: the service record was created."))
            return _back(request, booking)
    return render(
        request,
        "bookings/booking_done.html",
        {
            "booking": booking,
            "form": form,
            "local_start": booking.starts_at.astimezone(slot_math.shop_zone(tenant)),
        },
        status=400 if form.errors else 200,
    )


@tenant_view(write=EDIT_CUSTOMERS)
def booking_new(request):
    """Book by phone for a customer (from the Customer 360): pick the work, then one click on a time."""
    tenant = request.tenant
    raw = request.GET.get("customer") or request.POST.get("customer") or ""
    if not raw.isdigit():
        raise Http404
    customer = customer_get(tenant=tenant, pk=int(raw))
    vehicles = list(
        Vehicle.objects.for_tenant(tenant)
        .filter(customer=customer, status=VehicleStatus.OWNED)
        .order_by("pk")
    )
    wanted_vehicle = request.POST.get("vehicle") or request.GET.get("vehicle")
    vehicle = next((v for v in vehicles if str(v.pk) == wanted_vehicle), vehicles[0] if vehicles else None)
    work_types = list(selectors.work_types(tenant=tenant))
    wanted = request.POST.get("work") or request.GET.get("work")
    work_type = next((w for w in work_types if str(w.pk) == wanted), work_types[0] if work_types else None)
    error = ""
    if request.method == "POST" and work_type is not None:
        starts_at = parse_slot(request.POST.get("slot", ""), slot_math.shop_zone(tenant))
        try:
            if starts_at is None:
                raise services.SlotNotOffered(_("Please pick a time."))
            booking = services.booking_create(
                tenant=tenant,
                customer=customer,
                vehicle=vehicle,
                work_type=work_type,
                starts_at=starts_at,
                source=BookingSource.PHONE,
                created_by=request.user,
                staff_note=request.POST.get("staff_note", "")[:500],
            )
        except (services.SlotTaken, services.SlotNotOffered) as exc:
            error = exc.message
        else:
            messages.success(request, _("Booked."))
            return _back(request, booking)
    first = max(_parse_day(request.GET.get("from"), _today(tenant)), _today(tenant))
    days = (
        slot_math.slot_days(tenant=tenant, work_type=work_type, first=first, days=PHONE_DAYS, online=False)
        if work_type
        else []
    )
    return render(
        request,
        "bookings/booking_new.html",
        {
            "customer": customer,
            "vehicles": vehicles,
            "vehicle": vehicle,
            "work_types": work_types,
            "work_type": work_type,
            "days": days,
            "error": error,
            "query": urlencode(
                {
                    "customer": customer.pk,
                    "work": work_type.pk if work_type else "",
                    "vehicle": vehicle.pk if vehicle else "",
                }
            )
            + "&",
            "next_day": first + timedelta(days=PHONE_DAYS),
            "previous_day": first - timedelta(days=PHONE_DAYS) if first > _today(tenant) else None,
        },
        status=409 if error else 200,
    )


@tenant_view(read=EDIT_RULES, write=EDIT_RULES)
def capacity(request):
    """The shop's capacity: grid and window, weekly hours, closed days, work types (managers)."""
    tenant = request.tenant
    overview = selectors.capacity_overview(tenant=tenant)
    weekdays = Weekday.choices
    initial_hours: dict[int, str] = {}
    for h in overview["hours"]:
        text = f"{h.opens:%H:%M}-{h.closes:%H:%M}"
        initial_hours[h.weekday] = (
            f"{initial_hours[h.weekday]}, {text}" if h.weekday in initial_hours else text
        )
    what = request.POST.get("form", "")
    settings_form = BookingSettingsForm(
        request.POST if what == "settings" else None, instance=overview["settings"]
    )
    hours_form = OpeningHoursForm(
        request.POST if what == "hours" else None, weekdays=weekdays, initial_hours=initial_hours
    )
    closed_form = ClosedDayForm(request.POST if what == "closed" else None)
    work_type_pk = request.POST.get("work_type", "")
    editing = selectors.work_type_get(tenant=tenant, pk=int(work_type_pk)) if work_type_pk.isdigit() else None
    prefix = f"w{editing.pk}" if editing else "new"
    # The form validates its own copy: a ModelForm writes into its instance, and the service must see
    # the stored values to tell what changed (as in reminders' rule_edit).
    form_copy = selectors.work_type_get(tenant=tenant, pk=editing.pk) if editing else None
    work_type_form = WorkTypeForm(
        request.POST if what == "work_type" else None, instance=form_copy, prefix=prefix
    )
    if request.method == "POST":
        try:
            if what == "defaults":
                services.booking_defaults_create(tenant=tenant)
            elif what == "settings" and settings_form.is_valid():
                services.booking_settings_update(
                    tenant=tenant, data={f: settings_form.cleaned_data[f] for f in services.SETTINGS_FIELDS}
                )
            elif what == "hours" and hours_form.is_valid():
                intervals = hours_form.intervals()
                if hours_form.errors:
                    raise ValidationError(hours_form.errors)
                services.opening_hours_replace(tenant=tenant, intervals=intervals)
            elif what == "closed" and closed_form.is_valid():
                services.closed_day_add(
                    tenant=tenant, day=closed_form.cleaned_data["date"], note=closed_form.cleaned_data["note"]
                )
            elif what == "closed_delete":
                pk = request.POST.get("pk", "")
                closed = (
                    ClosedDay.objects.for_tenant(tenant).filter(pk=int(pk) if pk.isdigit() else 0).first()
                )
                if closed is None:
                    raise Http404
                services.closed_day_delete(tenant=tenant, closed_day=closed)
            elif what == "work_type" and work_type_form.is_valid():
                services.work_type_save(
                    tenant=tenant,
                    work_type=editing,
                    data={f: work_type_form.cleaned_data[f] for f in services.WORK_TYPE_FIELDS},
                )
            else:
                raise ValidationError(_("Please correct the errors below."))
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))
        else:
            messages.success(request, _("Saved."))
            return redirect("bookings:capacity")
    return render(
        request,
        "bookings/capacity.html",
        {
            **overview,
            "settings_form": settings_form,
            "hours_form": hours_form,
            "closed_form": closed_form,
            "work_type_form": work_type_form,
            "work_type_forms": [
                work_type_form
                if editing and editing.pk == w.pk
                else WorkTypeForm(instance=w, prefix=f"w{w.pk}")
                for w in overview["work_types"]
            ],
            "new_work_type_form": work_type_form if editing is None else WorkTypeForm(prefix="new"),
            "shop_url": request.build_absolute_uri(
                reverse("bookings_public:shop", kwargs={"token": shop_token(tenant_id=tenant.pk)})
            ),
        },
        status=400 if request.method == "POST" else 200,
    )
