"""Public booking pages (no login): from a reminder's link, from the shop's link, and a booking's own
link (see it, cancel it, move it).

No session names a tenant here: each view reads its signed token and runs inside
`tenant_context(tenant id of the token)` (row-level security), like the unsubscribe page. A token
that is tampered with, expired, of another kind, or names a row the shop does not have is a 404,
and nothing is written. The pages show only what the customer needs: the shop, the work, the car's
plate with all but two digits hidden, and free times — never a name, address or other booking.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date, timedelta

from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from bookings import selectors, services, slot_cache
from bookings import slots as slot_math
from bookings.forms import NewCustomerForm, parse_slot
from bookings.models import CUSTOMER_CHANGEABLE, Booking, BookingSource, BookingStatus, WorkType
from bookings.tokens import manage_token, manage_token_read, shop_token_read
from crm.common.errors import ApplicationError
from crm.models import Tenant
from crm.tenancy.rls import set_db_tenant, tenant_context
from customers.models import ServiceKind
from reminders.links import booking_token_read
from reminders.models import RuleKind
from reminders.services import reminder_mark_clicked

# The occasion a reminder is about → the work it books.
RULE_KIND_SERVICE = {
    RuleKind.INSPECTION: ServiceKind.SHAKEN,
    RuleKind.CHECK_12M: ServiceKind.CHECK_12M,
    RuleKind.CHECK_6M: ServiceKind.CHECK_6M,
    RuleKind.SEASONAL: ServiceKind.TYRE_CHANGE,
}
# The shop link's form creates customers: at most this many bookings per client address per hour,
# and per shop per hour (a bound against a script filling a shop's calendar).
NEW_CUSTOMER_PER_IP_PER_HOUR = 5
NEW_CUSTOMER_PER_SHOP_PER_HOUR = 60
PUBLIC_DAYS = 7


@contextmanager
def _token_tenant(tenant_id: int):
    """Run the page as the token's tenant (row-level security). An anonymous request has no
    transaction yet: one `atomic` and one setting, which end together (two round trips fewer than
    `tenant_context`, which also reads and restores a previous tenant, as a logged-in member's
    request inside the middleware's transaction needs)."""
    if connection.in_atomic_block:
        with tenant_context(tenant_id):
            yield
        return
    with transaction.atomic():
        set_db_tenant(tenant_id)
        yield


def _tenant_or_404(tenant_id: int) -> Tenant:
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        raise Http404
    return tenant


def _first_day(request, calendar: slot_math.ShopCalendar) -> date:
    """The first day shown: ?from=YYYY-MM-DD, between the shop's today and the horizon."""
    today = calendar.today()
    try:
        wanted = date.fromisoformat(request.GET.get("from", ""))
    except ValueError:
        wanted = today
    return min(max(wanted, today), today + timedelta(days=calendar.settings.horizon_days))


def _week_nav(calendar: slot_math.ShopCalendar, first: date) -> dict:
    today = calendar.today()
    horizon = today + timedelta(days=calendar.settings.horizon_days)
    following = first + timedelta(days=PUBLIC_DAYS)
    return {
        "previous_day": first - timedelta(days=PUBLIC_DAYS) if first > today else None,
        "next_day": following if following <= horizon else None,
    }


def _client_ip(request) -> str:
    # Behind the deployment's proxy REMOTE_ADDR is the proxy; SecurityMiddleware does not rewrite it.
    # The bound is per shop as well, so a shared address cannot lock a shop out for long.
    return request.META.get("REMOTE_ADDR", "")


def _render_book(request, context: dict, *, status: int = 200):
    return render(request, "bookings/public/book.html", context, status=status)


# --- from a reminder --------------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
def book_from_reminder(request, token: str):
    try:
        tenant_id, reminder_id = booking_token_read(token)
    except signing.BadSignature as exc:
        raise Http404 from exc
    with _token_tenant(tenant_id):
        return _book_from_reminder(request, token, tenant_id, reminder_id)


def _book_from_reminder(request, token: str, tenant_id: int, reminder_id: int):
    # One statement for the shop, the reminder's occasion, customer and car, and a booking already
    # made from this link (the page's hot path; docs/benchmarks.md, "Bookings").
    link = selectors.reminder_link_get(tenant_id=tenant_id, reminder_id=reminder_id)
    if link is None or link.customer_erased:
        raise Http404
    tenant = link.tenant
    if link.clicked_at is None:
        # The funnel's "clicked" step: the first time the customer opened the link of this reminder.
        reminder_mark_clicked(tenant=tenant, reminder_id=link.reminder_id)
    with translation.override(link.customer_language):
        if link.open_booking_id is not None:
            return redirect(
                "bookings_public:manage",
                token=manage_token(tenant_id=tenant.pk, booking_id=link.open_booking_id),
            )
        shop = slot_cache.for_shop(tenant)
        choices = shop.catalogue().online_work_types
        kind = RULE_KIND_SERVICE.get(link.rule_kind)
        default = next((w for w in choices if w.service_kind == kind), None) if kind else None
        work_type = _chosen_work_type(request, choices, default)
        context = {
            "tenant": tenant,
            "plate": selectors.mask_plate(link.plate_number) if link.vehicle_id else "",
            "work_types": choices,
            "work_type": work_type,
            "action": request.path,
        }
        if request.method == "POST" and work_type is not None:
            starts_at = parse_slot(request.POST.get("slot", ""), slot_math.shop_zone(tenant))
            if starts_at is None:
                context["error"] = _("Please pick a time.")
            else:
                # Booking writes with the whole rows (the page itself reads only a few columns).
                shop_row = _tenant_or_404(tenant_id)
                reminder = selectors.reminder_for_booking(tenant=shop_row, pk=reminder_id)
                try:
                    booking = services.booking_create(
                        tenant=shop_row,
                        customer=reminder.customer,
                        vehicle=reminder.vehicle,
                        work_type=work_type,
                        starts_at=starts_at,
                        source=BookingSource.REMINDER,
                        reminder=reminder,
                        customer_note=request.POST.get("customer_note", "")[:500],
                    )
                except (services.SlotTaken, services.SlotNotOffered) as exc:
                    _show_refusal(context, tenant, exc, shop)
                else:
                    return redirect(
                        reverse(
                            "bookings_public:manage",
                            kwargs={"token": manage_token(tenant_id=tenant.pk, booking_id=booking.pk)},
                        )
                        + "?booked=1"
                    )
        _add_week(request, context, tenant, work_type, shop)
        return _render_book(request, context, status=409 if context.get("taken") else 200)


def _chosen_work_type(request, choices: list[WorkType], default: WorkType | None) -> WorkType | None:
    wanted = request.POST.get("work") or request.GET.get("work")
    if wanted and wanted.isdigit():
        found = next((w for w in choices if w.pk == int(wanted)), None)
        if found is not None:
            return found
    return default or (choices[0] if len(choices) == 1 else None)


def _show_refusal(context: dict, tenant: Tenant, exc: ApplicationError, shop=None) -> None:
    context["error"] = exc.message
    context["taken"] = isinstance(exc, services.SlotTaken)
    if context["taken"]:
        # The page offered a time that was taken meanwhile (possibly from a cached week): the times
        # shown next are computed afresh.
        if shop is not None:
            shop.forget()
        else:
            slot_cache.forget_now(tenant_id=tenant.pk)


def _add_week(
    request,
    context: dict,
    tenant: Tenant,
    work_type: WorkType | None,
    shop: slot_cache.ShopCache,
    exclude_booking=None,
):
    if work_type is None:
        context["days"] = []
        return
    calendar = shop.catalogue().calendar(tenant)
    first = _first_day(request, calendar)
    context.update(_week_nav(calendar, first))
    context["chosen_slot"] = request.POST.get("slot", "")
    if exclude_booking is None:
        week = {"work_type": work_type, "first": first, "days": PUBLIC_DAYS}
        context["days"] = shop.week(**week, calendar=calendar)
        if request.method == "GET":
            # The rendered week is the same for every customer of the shop: kept with the times.
            context["slots_html"] = shop.week_html(
                **week,
                calendar=calendar,
                render=lambda: render_to_string("bookings/public/_slots.html", context),
            )
    else:  # moving a booking: its own seats count as free, so the week is its own
        context["days"] = slot_math.slot_days(
            tenant=tenant,
            work_type=work_type,
            first=first,
            days=PUBLIC_DAYS,
            exclude_booking=exclude_booking,
            calendar=calendar,
        )


# --- the shop's generic link ------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
def book_from_shop_link(request, token: str):
    try:
        tenant_id = shop_token_read(token)
    except signing.BadSignature as exc:
        raise Http404 from exc
    with _token_tenant(tenant_id):
        return _book_from_shop_link(request, tenant_id)


def _book_from_shop_link(request, tenant_id: int):
    tenant = _tenant_or_404(tenant_id)
    shop = slot_cache.for_shop(tenant)
    if not shop.catalogue().settings.online_booking_enabled:
        raise Http404
    choices = shop.catalogue().online_work_types
    work_type = _chosen_work_type(request, choices, None)
    form = NewCustomerForm(request.POST or None)
    context = {
        "tenant": tenant,
        "work_types": choices,
        "work_type": work_type,
        "form": form,
        "action": request.path,
        "new_customer": True,
    }
    if request.method == "POST" and work_type is not None:
        starts_at = parse_slot(request.POST.get("slot", ""), slot_math.shop_zone(tenant))
        if starts_at is None:
            context["error"] = _("Please pick a time.")
        elif form.is_valid():
            if form.cleaned_data["website"] or _over_limit(request, tenant):
                context["error"] = _("Too many bookings from here just now. Please call the shop.")
                _add_week(request, context, tenant, work_type, shop)
                return _render_book(request, context, status=429)
            data = {k: v for k, v in form.cleaned_data.items() if k != "website"}
            try:
                booking = services.booking_create_for_new_customer(
                    tenant=tenant, work_type=work_type, starts_at=starts_at, **data
                )
            except (services.SlotTaken, services.SlotNotOffered) as exc:
                _show_refusal(context, tenant, exc, shop)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                _count_booking(request, tenant)
                return redirect(
                    reverse(
                        "bookings_public:manage",
                        kwargs={"token": manage_token(tenant_id=tenant.pk, booking_id=booking.pk)},
                    )
                    + "?booked=1"
                )
    _add_week(request, context, tenant, work_type, shop)
    return _render_book(request, context, status=409 if context.get("taken") else 200)


def _limit_keys(request, tenant: Tenant) -> tuple[str, str]:
    hour = timezone.now().strftime("%Y%m%d%H")
    return f"bookings:new:ip:{_client_ip(request)}:{hour}", f"bookings:new:shop:{tenant.pk}:{hour}"


def _over_limit(request, tenant: Tenant) -> bool:
    ip_key, shop_key = _limit_keys(request, tenant)
    return (cache.get(ip_key, 0) >= NEW_CUSTOMER_PER_IP_PER_HOUR) or (
        cache.get(shop_key, 0) >= NEW_CUSTOMER_PER_SHOP_PER_HOUR
    )


def _count_booking(request, tenant: Tenant) -> None:
    for key in _limit_keys(request, tenant):
        cache.add(key, 0, timeout=3600)
        cache.incr(key)


# --- a booking's own link: see, cancel, move -----------------------------------------------------------
@require_http_methods(["GET", "POST"])
def manage(request, token: str):
    try:
        tenant_id, booking_id = manage_token_read(token)
    except signing.BadSignature as exc:
        raise Http404 from exc
    with _token_tenant(tenant_id):
        return _manage(request, token, tenant_id, booking_id)


def _manage(request, token: str, tenant_id: int, booking_id: int):
    booking = (
        Booking.objects.for_tenant(tenant_id)
        .select_related("tenant", "customer", "vehicle", "work_type")
        .filter(pk=booking_id)
        .first()
    )
    if booking is None or booking.customer.erased_at is not None:
        raise Http404
    tenant = booking.tenant
    with translation.override(booking.customer.language):
        context = {
            "tenant": tenant,
            "booking": booking,
            "plate": selectors.mask_plate(booking.vehicle.plate_number) if booking.vehicle else "",
            "changeable": booking.status in CUSTOMER_CHANGEABLE,
            "just_booked": request.GET.get("booked") == "1",
            "moving": request.GET.get("move") == "1" or request.POST.get("action") == "move",
            "action": request.path,
            "work_type": booking.work_type,
            "local_start": booking.starts_at.astimezone(slot_math.shop_zone(tenant)),
        }
        if request.method == "POST" and context["changeable"]:
            action = request.POST.get("action")
            try:
                if action == "cancel":
                    services.booking_cancel(tenant=tenant, booking=booking, by_customer=True)
                    return redirect(request.path + "?cancelled=1")
                if action == "move":
                    starts_at = parse_slot(request.POST.get("slot", ""), slot_math.shop_zone(tenant))
                    if starts_at is None:
                        raise services.SlotNotOffered(_("Please pick a time."))
                    services.booking_move(
                        tenant=tenant, booking=booking, starts_at=starts_at, by_customer=True
                    )
                    return redirect(request.path + "?moved=1")
            except (services.SlotTaken, services.SlotNotOffered, services.BookingStateError) as exc:
                _show_refusal(context, tenant, exc)
        context["cancelled"] = booking.status == BookingStatus.CANCELLED
        context["moved"] = request.GET.get("moved") == "1"
        if context["moving"] and context["changeable"]:
            shop = slot_cache.for_shop(tenant)
            _add_week(request, context, tenant, booking.work_type, shop, exclude_booking=booking)
        return render(
            request, "bookings/public/manage.html", context, status=409 if context.get("taken") else 200
        )
