"""The weekly list's pages: the full list (filters by kind, and by staff for managers), the one-click
actions (htmx swaps the entry's card; without JavaScript a redirect back), the manager's refresh and
the shop's list settings. Views parse, call one service or selector, and render."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crm.common.errors import ApplicationError
from crm.models import Membership
from crm.tenancy.permissions import tenant_view
from crm.tenancy.roles import EDIT_CUSTOMERS, EDIT_RULES, Role
from opportunities import selectors, services
from opportunities.forms import DismissForm, WorklistSettingsForm
from opportunities.models import DismissReason, EntryKind
from opportunities.worklist import shop_today, week_of, worklist_refresh, worklist_settings_get

PAGE_SIZE = 50
TODAY_ENTRIES = 5
DONE = {
    "call_task": gettext_lazy("Call task created."),
    "deal": gettext_lazy("Deal created at the proposal stage."),
    "message": gettext_lazy("Message planned: it goes out on the customer's channel in the send window."),
    "dismiss": gettext_lazy("Dismissed."),
}


def decorate(entries, *, membership) -> list:
    """Each entry with its reason in the reader's language, the actions done, and whether one may act."""
    language = (translation.get_language() or "ja").split("-")[0]
    can_act = membership is not None and membership.has_role(EDIT_CUSTOMERS)
    rows = []
    for entry in entries:
        entry.reason = selectors.entry_reason(entry, language=language)
        entry.done = selectors.done_actions(entry)
        entry.can_act = can_act
        entry.dismiss_choices = DismissReason.choices
        rows.append(entry)
    return rows


def _this_week(request):
    return week_of(shop_today(request.tenant))


def worklist_today(request) -> dict:
    """The Today panel: the member's own top entries of this week (managers too: their own list)."""
    entries = selectors.worklist_entries(
        tenant=request.tenant,
        week=_this_week(request),
        user=request.user,
        membership=request.membership,
        own_only=True,
    ).order_by("rank", "pk")
    top = list(entries[: TODAY_ENTRIES + 1])
    return {
        "entries": decorate(top[:TODAY_ENTRIES], membership=request.membership),
        "more": len(top) > TODAY_ENTRIES,
    }


@tenant_view()
def worklist(request):
    tenant, membership = request.tenant, request.membership
    kind = request.GET.get("kind") if request.GET.get("kind") in EntryKind.values else ""
    staff = request.GET.get("staff", "") if selectors.may_see_all(membership) else ""
    entries = selectors.worklist_entries(
        tenant=tenant,
        week=_this_week(request),
        user=request.user,
        membership=membership,
        kind=kind,
        staff=staff,
    ).order_by("staff__display_name", "staff_id", "rank", "pk")
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    managers = selectors.may_see_all(membership)
    context = {
        "week": _this_week(request),
        "page": page,
        "entries": decorate(page.object_list, membership=membership),
        "kind": kind,
        "staff": staff,
        "kinds": EntryKind.choices,
        "is_manager": managers,
        "hit": selectors.worklist_hit_rate(tenant=tenant, staff=None if managers else request.user),
        "querystring": "&".join(f"{k}={v}" for k, v in (("kind", kind), ("staff", staff)) if v),
    }
    if managers:
        context["members"] = (
            Membership.objects.for_tenant(tenant)
            .exclude(role=Role.VIEWER)
            .select_related("user")
            .order_by("user__display_name", "user__email")
        )
        options = worklist_settings_get(tenant=tenant)
        context["settings_form"] = WorklistSettingsForm(
            tenant=tenant,
            initial={
                "per_staff": options.per_staff,
                "dismiss_days": options.dismiss_days,
                "message_template": options.message_template_id,
            },
        )
    return render(request, "opportunities/worklist.html", context)


def _back(request):
    nxt = request.POST.get("next", "")
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        return redirect(nxt)
    return redirect("worklist:index")


def _card(request, entry, *, error: str = "", done: str = "", compact: bool = False):
    entry = selectors.worklist_entry_get(
        tenant=request.tenant, pk=entry.pk, user=request.user, membership=request.membership
    )
    return render(
        request,
        "opportunities/_entry.html",
        {
            "e": decorate([entry], membership=request.membership)[0],
            "error": error,
            "done": done,
            "compact": compact,
            "next": request.POST.get("next", ""),
        },
    )


@require_POST
@tenant_view(write=EDIT_CUSTOMERS)
def worklist_action(request, pk: int, action: str):
    """call_task / deal / message / dismiss from one entry: one service each, logged once."""
    if action not in DONE:
        raise Http404
    tenant = request.tenant
    entry = selectors.worklist_entry_get(
        tenant=tenant, pk=pk, user=request.user, membership=request.membership
    )
    compact = request.POST.get("compact") == "1"
    try:
        if action == "dismiss":
            form = DismissForm(request.POST)
            if not form.is_valid():
                raise ApplicationError(_("Choose why you dismiss this entry."))
            services.worklist_entry_dismiss(tenant=tenant, entry=entry, by=request.user, **form.cleaned_data)
        else:
            service = {
                "call_task": services.worklist_entry_call_task,
                "deal": services.worklist_entry_deal,
                "message": services.worklist_entry_message,
            }[action]
            service(tenant=tenant, entry=entry, by=request.user)
    except ApplicationError as exc:
        if request.htmx:
            return _card(request, entry, error=exc.message, compact=compact)
        messages.error(request, exc.message)
        return _back(request)
    if request.htmx:
        return _card(request, entry, done=DONE[action], compact=compact)
    messages.success(request, DONE[action])
    return _back(request)


@require_POST
@tenant_view(write=EDIT_RULES)
def worklist_refresh_view(request):
    """A manager rebuilds this week's list now (untouched entries are replaced; acted-on ones stay)."""
    added = worklist_refresh(tenant=request.tenant)
    messages.success(request, _("This week's list was rebuilt: %(n)d new entries.") % {"n": added})
    return redirect("worklist:index")


@require_POST
@tenant_view(write=EDIT_RULES)
def worklist_settings_view(request):
    form = WorklistSettingsForm(request.POST, tenant=request.tenant)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(reverse("worklist:index") + "#settings")
    services.worklist_settings_update(tenant=request.tenant, data=form.cleaned_data)
    messages.success(request, _("Weekly list settings saved. They apply from the next refresh."))
    return redirect(reverse("worklist:index") + "#settings")
