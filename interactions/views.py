"""The Today page: what a service manager needs to act on this morning."""

from datetime import timedelta

from django.shortcuts import render
from django.utils import timezone

from crm.permissions import tenant_view
from customers.models import Customer, Vehicle, VehicleStatus
from interactions.models import OPEN_DEAL_STAGES, CallTask, CallTaskStatus, Deal

LIST_LIMIT = 20


@tenant_view()
def today(request):
    tenant = request.tenant
    today_ = timezone.localdate()
    month_end = (today_.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    inspections = (
        Vehicle.objects.for_tenant(tenant)
        .filter(status=VehicleStatus.OWNED, inspection_expiry__lte=month_end)
        .filter(inspection_expiry__gte=today_ - timedelta(days=90))
        .select_related("customer")
        .order_by("inspection_expiry", "pk")
    )
    birthdays = (
        Customer.objects.for_tenant(tenant)
        .filter(birthday__month=today_.month, birthday__day=today_.day)
        .order_by("family_name_kana", "pk")
    )
    my_calls = (
        CallTask.objects.for_tenant(tenant)
        .filter(
            assigned_to=request.user, status=CallTaskStatus.OPEN, due_date__lte=today_ + timedelta(days=7)
        )
        .select_related("customer")
        .order_by("due_date", "pk")
    )
    deals = (
        Deal.objects.for_tenant(tenant)
        .filter(stage__in=OPEN_DEAL_STAGES, expected_close__lte=today_ + timedelta(days=30))
        .select_related("customer", "owner")
        .order_by("expected_close", "pk")
    )
    return render(
        request,
        "interactions/today.html",
        {
            "today": today_,
            "inspections": inspections[:LIST_LIMIT],
            "inspections_count": inspections.count(),
            "birthdays": birthdays[:LIST_LIMIT],
            "my_calls": my_calls[:LIST_LIMIT],
            "deals": deals[:LIST_LIMIT],
        },
    )
