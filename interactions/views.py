"""The deals (商談) pipeline board. (Today composes every app: workspace/views/today.py.)"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, Sum
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.tenancy.permissions import tenant_view
from crm.tenancy.roles import EDIT_CUSTOMERS
from interactions.forms import DealMoveForm
from interactions.models import OPEN_DEAL_STAGES, Deal, DealStage
from interactions.selectors import deal_get
from interactions.services import deal_move

LIST_LIMIT = 20
BIRTHDAY_YEARS_BACK = 110
OVERDUE_LOOKBACK_DAYS = 90
BOARD_CARDS_PER_STAGE = 20  # per column, soonest to close first; the count shows the rest
CLOSED_SHOWN_DAYS = 30


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
