"""The Today page: what needs doing today, across every app.

車検 and check-ups coming due and birthdays (customers), the member's calls and follow-ups and deals
about to close (interactions), reminders that failed (reminders) and this month's KPI cards (analytics),
each read through its app's selectors.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from dateutil.relativedelta import relativedelta
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics.selectors import kpi_cards
from bookings.selectors import bookings_between, bookings_unconfirmed
from channels.line_selectors import unanswered_line_messages
from crm.tenancy.permissions import tenant_view
from customers.selectors import checkups_due, customers_with_birthday, vehicles_inspection_due
from interactions.selectors import call_tasks_open_for, deals_closing, interactions_awaiting_follow_up
from opportunities.views import worklist_today
from reminders.selectors import reminders_failed

LIST_LIMIT = 20
OVERDUE_LOOKBACK_DAYS = 90
CALLS_AHEAD_DAYS = 7
DEALS_AHEAD_DAYS = 30


def _month_end(day):
    return day.replace(day=1) + relativedelta(months=1, days=-1)


def _kpi_cards(tenant, today_):
    """This month's KPI cards against last month and last year (analytics' precomputed monthly table)."""
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


@tenant_view()
def today(request):
    tenant = request.tenant
    today_ = timezone.localdate()
    month_end = _month_end(today_)
    since = today_ - timedelta(days=OVERDUE_LOOKBACK_DAYS)
    since_at = timezone.make_aware(datetime.combine(since, time.min))
    inspections = vehicles_inspection_due(tenant=tenant, since=since, until=month_end)
    checkups = checkups_due(tenant=tenant, since=since, until=month_end)
    my_calls = call_tasks_open_for(
        tenant=tenant, user=request.user, due_by=today_ + timedelta(days=CALLS_AHEAD_DAYS)
    )
    my_follow_ups = interactions_awaiting_follow_up(tenant=tenant, user=request.user, since=since_at)
    deals = deals_closing(tenant=tenant, by=today_ + timedelta(days=DEALS_AHEAD_DAYS))
    checkups_list = list(checkups[: LIST_LIMIT + 1])
    failed = reminders_failed(tenant=tenant)
    upcoming = list(
        bookings_between(tenant=tenant, first=today_, last=today_ + timedelta(days=1))[: LIST_LIMIT + 1]
    )
    line_unanswered = unanswered_line_messages(tenant=tenant)
    return render(
        request,
        "workspace/today.html",
        {
            "today": today_,
            "inspections": inspections[:LIST_LIMIT],
            "inspections_count": inspections.count(),
            # One bounded query instead of list + count: ServiceRecord has no index on next_due.
            "checkups": checkups_list[:LIST_LIMIT],
            "checkups_more": len(checkups_list) > LIST_LIMIT,
            "birthdays": customers_with_birthday(tenant=tenant, day=today_)[:LIST_LIMIT],
            "my_calls": my_calls[:LIST_LIMIT],
            "my_follow_ups": my_follow_ups[:LIST_LIMIT],
            "deals": deals[:LIST_LIMIT],
            "failed_reminders": list(failed[:LIST_LIMIT]),
            "failed_count": failed.count(),
            "line_unanswered": line_unanswered[:LIST_LIMIT],
            "line_unanswered_count": line_unanswered.count(),
            "kpi": _kpi_cards(tenant, today_),
            # Today's and tomorrow's bookings, and the online requests the shop has not confirmed.
            "bookings": upcoming[:LIST_LIMIT],
            "bookings_more": len(upcoming) > LIST_LIMIT,
            "booking_requests": list(bookings_unconfirmed(tenant=tenant, since=timezone.now())[:LIST_LIMIT]),
            "worklist": worklist_today(request),  # this week's list (opportunities)
        },
    )
