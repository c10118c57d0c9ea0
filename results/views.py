"""Results pages: every rule and campaign with its headline effect, and one rule's (or campaign's)
funnel, treated versus held out in plain words, and trend by month. Every table is also a CSV.

Every member sees them (aggregate figures, no personal data); managers and owners may refresh the
figures on demand (the nightly refresh does it otherwise).
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics.services import retention_refresh
from channels.models import MessageChannel
from crm.common.csvsafe import csv_response
from crm.tenancy.permissions import tenant_view
from crm.tenancy.roles import EDIT_RULES
from results import selectors
from results.services import results_refresh


def _pct(value):
    return None if value is None else round(value * 100, 1)


def _yen(value):
    return None if value is None else round(value)


def _ratio(part, whole):
    return round(part / whole * 100, 1) if whole else None


def _stage_labels() -> dict[str, str]:
    return {
        "planned": _("Planned"),
        "sent": _("Sent"),
        "opened": _("Opened"),
        "clicked": _("Clicked"),
        "booked": _("Booked"),
        "visited": _("Visited"),
    }


def _table(name, title, columns, rows, chart=None, note=""):
    return {"name": name, "title": title, "columns": columns, "rows": rows, "chart": chart, "note": note}


def _chart(kind, labels, datasets, *, title=""):
    return {"type": kind, "labels": labels, "datasets": datasets, "stacked": False, "title": title}


def _interval(interval, scale=100, digits=1):
    if interval is None:
        return None, None, None
    return (round(interval.estimate * scale, digits), round(interval.low * scale, digits),
            round(interval.high * scale, digits))  # fmt: skip


def _csv(request, tables, stem: str):
    table = next((t for t in tables if t["name"] == request.GET.get("table")), None)
    if table is None:
        raise Http404
    return csv_response(
        [table["columns"], *table["rows"]], f"{request.tenant.slug}-{stem}-{table['name']}.csv"
    )


def _overview_table(rows):
    return _table(
        "rules",
        _("Rules and campaigns"),
        [_("Name"), _("Type"), _("Holdout (%)"), _("Planned"), _("Sent"), _("Visited"), _("Revenue (JPY)"),
         _("Visit rate, reminded (%)"), _("Visit rate, held out (%)"), _("Difference (points)"),
         _("95% interval from"), _("to"), _("In plain words")],
        [[r["name"], _("Campaign") if r["is_campaign"] else _("Rule"), r["holdout_percent"], r["planned"],
          r["sent"], r["visited"], r["revenue"], _pct(r["uplift"].treated.rate), _pct(r["uplift"].held.rate),
          *_interval(r["uplift"].rate), r["summary"]]
         for r in rows],
    )  # fmt: skip


@tenant_view()
def index(request):
    rows = selectors.results_overview(tenant=request.tenant)
    for row in rows:
        row["treated_pct"], row["held_pct"] = _pct(row["uplift"].treated.rate), _pct(row["uplift"].held.rate)
    table = _overview_table(rows)
    if request.GET.get("format") == "csv":
        return _csv(request, [table], "results")
    return render(
        request,
        "results/index.html",
        {
            "rows": rows,
            "table": table,
            "computed_at": selectors.results_computed_at(tenant=request.tenant),
            "can_refresh": request.membership.has_role(EDIT_RULES),
        },
    )


def _detail_tables(result) -> list[dict]:
    labels = _stage_labels()
    totals, up = result["totals"], result["uplift"]
    stage_columns = [labels[s] for s in selectors.STAGES] + [_("Revenue (JPY)")]
    channels = dict(MessageChannel.choices)

    def stage_row(first, row):
        return [first, *(row[s] for s in selectors.STAGES), row["revenue"]]

    funnel = _table(
        "funnel", _("Funnel"), [_("Stage"), _("Reminders"), _("Share of planned (%)")],
        [[labels[s], totals[s], _ratio(totals[s], totals["planned"])] for s in selectors.STAGES],
        _chart("bar", [labels[s] for s in selectors.STAGES],
               [{"label": _("Reminders"), "data": [totals[s] for s in selectors.STAGES]}]),
        note=_("Each reminder counts once per stage it reached. Opened and clicked are known only where "
               "the channel can tell (e-mail with tracking on, links in messages); booked means a "
               "booking made from the reminder's link and not cancelled; visited means a service or "
               "purchase within the rule's attribution window after the due date."),
    )  # fmt: skip
    rate, revenue = up.rate, up.revenue
    groups = _table(
        "treated_vs_held_out", _("Reminded versus held out"),
        [_("Group"), _("Customers"), _("Visited"), _("Visit rate (%)"), _("Revenue per customer (JPY)")],
        [[_("Reminded"), up.treated.customers, up.treated.visited, _pct(up.treated.rate),
          _yen(up.treated.revenue_mean)],
         [_("Held out (control group)"), up.held.customers, up.held.visited, _pct(up.held.rate),
          _yen(up.held.revenue_mean)],
         [_("Difference"), None, None, *(
             [f"{_interval(rate)[0]:+} ({_interval(rate)[1]} … {_interval(rate)[2]})"] if rate else [None]),
          f"{_yen(revenue.estimate):+,} ({_yen(revenue.low):,} … {_yen(revenue.high):,})"
          if revenue else None],
         [_("Customers needed per group"), up.needed_per_group, None, None, None]],
        note=_("Difference with its 95% interval in brackets (percentage points; yen)."),
    )  # fmt: skip
    trend = result["trend"]
    months = [m["month"].strftime("%Y-%m") for m in trend]
    trend_table = _table(
        "trend", _("By month of the due date"),
        [_("Month"), _("Reminded customers"), _("Visit rate, reminded (%)"), _("Held-out customers"),
         _("Visit rate, held out (%)"), *stage_columns],
        [[m["month"].strftime("%Y-%m"), m["treated"].customers, _pct(m["treated"].rate), m["held"].customers,
          _pct(m["held"].rate), *(m["funnel"][s] for s in selectors.STAGES), m["funnel"]["revenue"]]
         for m in trend],
        _chart("line", months, [
            {"label": _("Visit rate, reminded (%)"), "data": [_pct(m["treated"].rate) for m in trend]},
            {"label": _("Visit rate, held out (%)"), "data": [_pct(m["held"].rate) for m in trend]},
        ]),
    )  # fmt: skip
    by_step = _table(
        "by_step",
        _("Funnel by step"),
        [_("Step"), *stage_columns],
        [stage_row(s["key"], s) for s in result["by_step"]],
    )
    by_channel = _table(
        "by_channel", _("Funnel by channel"), [_("Message channel"), *stage_columns],
        [stage_row(channels.get(s["key"]) or _("Not sent (no channel)"), s) for s in result["by_channel"]],
    )  # fmt: skip
    return [funnel, groups, trend_table, by_step, by_channel]


@tenant_view()
def detail(request, pk: int):
    rule = selectors.rule_get(tenant=request.tenant, pk=pk)
    result = selectors.rule_results(tenant=request.tenant, rule=rule)
    tables = _detail_tables(result)
    if request.GET.get("format") == "csv":
        return _csv(request, tables, f"results-{rule.pk}")
    return render(
        request,
        "results/detail.html",
        {
            "result": result,
            "tables": tables,
            "computed_at": selectors.results_computed_at(tenant=request.tenant),
        },
    )


@tenant_view(read=EDIT_RULES, write=EDIT_RULES)
def refresh(request):
    """Recompute results and retention now (managers); the nightly refresh does it otherwise."""
    if request.method != "POST":
        raise Http404
    today = timezone.localdate()
    retention_refresh(tenant=request.tenant, as_of=today)
    results_refresh(tenant=request.tenant, as_of=today)
    messages.success(request, _("Results recomputed."))
    return redirect("results:index")
