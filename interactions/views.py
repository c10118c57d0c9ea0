"""The Today page and the deals (商談) pipeline board."""

from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta

from dateutil.relativedelta import relativedelta
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.db.models.functions import Coalesce
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from channels.line_selectors import unanswered_line_messages
from crm.permissions import tenant_view
from crm.roles import EDIT_CUSTOMERS
from customers.models import Customer, ServiceKind, ServiceRecord, Vehicle, VehicleStatus
from interactions.forms import DealMoveForm
from interactions.models import OPEN_DEAL_STAGES, CallTask, CallTaskStatus, Deal, DealStage, Interaction
from interactions.selectors import deal_get
from interactions.services import deal_move

LIST_LIMIT = 20
BIRTHDAY_YEARS_BACK = 110
OVERDUE_LOOKBACK_DAYS = 90
BOARD_CARDS_PER_STAGE = 20  # per column, soonest to close first; the count shows the rest
CLOSED_SHOWN_DAYS = 30


def _birthday_dates(today_):
    """Every date a birthday today can have (one per year; 29 Feb counts on 28 Feb in common years)."""
    days = []
    for year in range(today_.year - BIRTHDAY_YEARS_BACK, today_.year + 1):
        try:
            days.append(today_.replace(year=year))
        except ValueError:  # 29 Feb in a common year
            continue
    if today_.month == 2 and today_.day == 28 and not calendar.isleap(today_.year):
        days += [
            date(y, 2, 29)
            for y in range(today_.year - BIRTHDAY_YEARS_BACK, today_.year)
            if calendar.isleap(y)
        ]
    return days


def _month_end(day):
    return day.replace(day=1) + relativedelta(months=1, days=-1)


def _kpi_cards(tenant, today_):
    """KPI cards from the analytics app (precomputed monthly table); None when it is not available."""
    try:
        from analytics.selectors import kpi_cards
    except ImportError:
        return None
    cards = kpi_cards(tenant=tenant, month=today_)
    labels = [
        ("sales", _("Revenue"), "yen"),
        ("customers", _("Customers"), "int"),
        ("frequency", _("Frequency"), "ratio"),
        ("unit_price", _("Unit price"), "yen"),
        ("new_customers", _("New customers"), "int"),
        ("churned", _("Churned"), "int"),
    ]
    rows = []
    for key, label, fmt in labels:
        cur, lm, ly = cards["current"].get(key), cards["last_month"].get(key), cards["last_year"].get(key)

        def change(base, cur=cur):
            if cur is None or not base:
                return None
            return round((cur - base) / base * 100, 1)

        rows.append(
            {
                "key": key, "label": label, "fmt": fmt, "current": cur, "last_month": lm, "last_year": ly,
                "vs_last_month": change(lm), "vs_last_year": change(ly),
            }
        )  # fmt: skip
    driver_labels = {"customers": _("Customers"), "frequency": _("Frequency"), "unit_price": _("Unit price")}
    return {
        "month": cards["month"],
        "rows": rows,
        "driver": driver_labels.get(cards.get("main_driver")),
        "has_data": any(r["current"] for r in rows),
    }


def _failed_reminders(tenant):
    try:
        from reminders.models import Reminder, ReminderStatus
    except ImportError:
        return None, 0
    qs = (
        Reminder.objects.for_tenant(tenant)
        .filter(status=ReminderStatus.FAILED)
        .select_related("customer", "rule")
        .order_by("-updated_at", "-pk")
    )
    return list(qs[:LIST_LIMIT]), qs.count()


@tenant_view()
def today(request):
    tenant = request.tenant
    today_ = timezone.localdate()
    month_end = _month_end(today_)
    since = today_ - timedelta(days=OVERDUE_LOOKBACK_DAYS)
    since_at = timezone.make_aware(datetime.combine(since, time.min))
    inspections = (
        Vehicle.objects.for_tenant(tenant)
        .filter(status=VehicleStatus.OWNED, inspection_expiry__lte=month_end, inspection_expiry__gte=since)
        .select_related("customer")
        .order_by("inspection_expiry", "pk")
    )
    check_kinds = [ServiceKind.CHECK_12M, ServiceKind.CHECK_6M]
    if not tenant.six_month_check_enabled:
        check_kinds = [ServiceKind.CHECK_12M]
    # Only the latest check of a vehicle counts: a later check of the same kind supersedes the due date.
    later = ServiceRecord.objects.for_tenant(tenant).filter(
        vehicle_id=OuterRef("vehicle_id"),
        kind=OuterRef("kind"),
        date__gt=OuterRef("date"),
    )
    checkups = (
        ServiceRecord.objects.for_tenant(tenant)
        .filter(kind__in=check_kinds, next_due__lte=month_end, next_due__gte=since)
        .exclude(Exists(later))
        .filter(vehicle__status=VehicleStatus.OWNED)
        .select_related("customer", "vehicle")
        .order_by("next_due", "pk")
    )
    birthdays = (
        Customer.objects.for_tenant(tenant)
        .filter(birthday__in=_birthday_dates(today_))  # an IN list the (tenant, birthday) index answers
        # Sorted through an expression so PostgreSQL fetches the day's few rows by birthday and sorts
        # them, instead of walking the whole furigana index until 20 happen to match (30 ms at 100k).
        .order_by(Coalesce("family_name_kana", "family_name_kana"), "pk")
    )
    my_calls = (
        CallTask.objects.for_tenant(tenant)
        .filter(
            assigned_to=request.user, status=CallTaskStatus.OPEN, due_date__lte=today_ + timedelta(days=7)
        )
        .select_related("customer")
        .order_by("due_date", "pk")
    )
    my_follow_ups = (
        Interaction.objects.for_tenant(tenant)
        .filter(staff=request.user, follow_up_needed=True, occurred_at__gte=since_at)
        .select_related("customer")
        .order_by("-occurred_at", "-pk")
    )
    deals = (
        Deal.objects.for_tenant(tenant)
        .filter(stage__in=OPEN_DEAL_STAGES, expected_close__lte=today_ + timedelta(days=30))
        .prefetch_related("customer", "owner")  # two small queries, not a hash join over all customers
        .order_by("expected_close", "pk")
    )
    checkups_list = list(checkups[: LIST_LIMIT + 1])
    failed, failed_count = _failed_reminders(tenant)
    line_unanswered = unanswered_line_messages(tenant=tenant)
    return render(
        request,
        "interactions/today.html",
        {
            "today": today_,
            "inspections": inspections[:LIST_LIMIT],
            "inspections_count": inspections.count(),
            # One bounded query instead of list + count: ServiceRecord has no index on next_due.
            "checkups": checkups_list[:LIST_LIMIT],
            "checkups_more": len(checkups_list) > LIST_LIMIT,
            "birthdays": birthdays[:LIST_LIMIT],
            "my_calls": my_calls[:LIST_LIMIT],
            "my_follow_ups": my_follow_ups[:LIST_LIMIT],
            "deals": deals[:LIST_LIMIT],
            "failed_reminders": failed,
            "failed_count": failed_count,
            "line_unanswered": line_unanswered[:LIST_LIMIT],
            "line_unanswered_count": line_unanswered.count(),
            "kpi": _kpi_cards(tenant, today_),
        },
    )


# --- deals board --------------------------------------------------------------------------------------
@tenant_view(write=EDIT_CUSTOMERS)
def deal_board(request):
    """Open deals by stage, plus those won or lost in the last 30 days. Bounded per column."""
    tenant = request.tenant
    since = timezone.now() - timedelta(days=CLOSED_SHOWN_DAYS)
    base = Deal.objects.for_tenant(tenant)
    shown = Q(stage__in=OPEN_DEAL_STAGES) | Q(stage__in=[DealStage.WON, DealStage.LOST], closed_at__gte=since)
    totals = {
        r["stage"]: r
        for r in base.filter(shown)
        .values("stage")
        .annotate(n=Count("pk"), amount=Sum("expected_amount"))
        .order_by()
    }
    columns = []
    for stage, label in DealStage.choices:
        qs = base.filter(stage=stage)
        if stage not in OPEN_DEAL_STAGES:
            qs = qs.filter(closed_at__gte=since)
        cards = list(
            qs.select_related("customer", "owner").order_by("expected_close", "pk")[:BOARD_CARDS_PER_STAGE]
        )
        total = totals.get(stage, {"n": 0, "amount": 0})
        columns.append(
            {"stage": stage, "label": label, "deals": cards, "count": total["n"], "amount": total["amount"]}
        )
    return render(
        request,
        "interactions/deal_board.html",
        {
            "columns": columns,
            "stages": DealStage.choices,
            "can_edit": request.membership.has_role(EDIT_CUSTOMERS),
            "board_config": {"lostStage": DealStage.LOST},
        },
    )


@tenant_view(write=EDIT_CUSTOMERS)
@require_POST
def deal_move_view(request, pk: int):
    deal = deal_get(tenant=request.tenant, pk=pk)
    form = DealMoveForm(request.POST)
    wants_json = request.headers.get("Accept", "").startswith("application/json")
    if form.is_valid():
        try:
            deal_move(
                tenant=request.tenant,
                deal=deal,
                stage=form.cleaned_data["stage"],
                lost_reason=form.cleaned_data["lost_reason"].strip(),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
    if form.errors:
        msg = " ".join(e for errs in form.errors.values() for e in errs)
        if wants_json:
            return JsonResponse({"ok": False, "error": msg}, status=400)
        messages.error(request, msg)
    elif wants_json:
        return JsonResponse({"ok": True, "stage": deal.stage})
    else:
        messages.success(
            request,
            _("Moved “%(title)s” to %(stage)s.") % {"title": deal.title, "stage": deal.get_stage_display()},
        )
    return redirect("deals")
