"""Analytics dashboard pages. Each section is a list of tables (each also a chart and a CSV download).

Who sees what: every member (viewer and up) sees the shop overview — segments and RFM grid, KPI tree,
conversion and cohorts — as aggregate figures. Managers and owners (VIEW_ALL_ANALYTICS) also see
money per customer group and model internals: migration matrix, LTV and LTV/CAC, the BTYD fit,
demographics and satisfaction; only they export a segment's customers (personal data) or edit the
segment map.
"""

from __future__ import annotations

from datetime import date

from dateutil.relativedelta import relativedelta
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from analytics import selectors
from analytics.models import SCORED_SEGMENTS, RetentionDimension, RetentionKPI, Segment
from analytics.services import analytics_settings_get, analytics_settings_update
from crm.common.csvsafe import csv_response
from crm.tenancy.permissions import tenant_view
from crm.tenancy.roles import EDIT_RULES, VIEW_ALL_ANALYTICS, Role


def _pct(value):
    return None if value is None else round(value * 100, 1)


def _num(value, digits=0):
    if value is None:
        return None
    return round(value, digits) if digits else round(value)


def _table(name, title, columns, rows, chart=None, note=""):
    return {"name": name, "title": title, "columns": columns, "rows": rows, "chart": chart, "note": note}


def _chart(kind, labels, datasets, *, stacked=False, title=""):
    return {"type": kind, "labels": labels, "datasets": datasets, "stacked": stacked, "title": title}


# --- sections --------------------------------------------------------------------------------------
def _overview(request):
    t = request.tenant
    summary = selectors.segment_summary(tenant=t)
    grid = selectors.rfm_grid(tenant=t)
    seg_rows = [
        [s["label"], s["customers"], _pct(s["share"]), s["monetary"], _num(s["avg_recency_days"]),
         _num(s["avg_frequency"], 2), _num(s["avg_monetary"])]
        for s in summary
    ]  # fmt: skip
    grid_rows = [[g["r"], g["f"], g["label"], g["customers"], g["monetary"]] for g in grid]
    return {
        "computed_at": selectors.rfm_computed_at(tenant=t),
        "heatmap": grid,
        "segments": summary,
        "tables": [
            _table(
                "segments",
                _("Segments"),
                [
                    _("Segment"),
                    _("Customers"),
                    _("Share (%)"),
                    _("Revenue in window (JPY)"),
                    _("Avg recency (days)"),
                    _("Avg frequency"),
                    _("Avg monetary (JPY)"),
                ],
                seg_rows,
                _chart(
                    "bar",
                    [s["label"] for s in summary],
                    [{"label": _("Customers"), "data": [s["customers"] for s in summary]}],
                ),
            ),
            _table(
                "rfm_grid",
                _("Recency × frequency grid"),
                [_("R"), _("F"), _("Segment"), _("Customers"), _("Revenue in window (JPY)")],
                grid_rows,
                _chart(
                    "bubble",
                    [],
                    [
                        {
                            "label": _("Customers"),
                            "data": [{"x": g["f"], "y": g["r"], "r": g["customers"]} for g in grid],
                        }
                    ],
                    title=_("x = frequency score, y = recency score, size = customers"),
                ),
            ),
        ],
    }


def _kpi(request):
    t = request.tenant
    staff_id = None
    if request.membership.has_role(VIEW_ALL_ANALYTICS) and request.GET.get("staff", "").isdigit():
        staff_id = int(request.GET["staff"])
    tree = selectors.kpi_tree(tenant=t, months=36, staff_id=staff_id)
    labels = [r["month"].strftime("%Y-%m") for r in tree]
    rows = [
        [r["month"].strftime("%Y-%m"), r["sales"], r["customers"], _num(r["frequency"], 3),
         _num(r["unit_price"]), r["refunds"], r["net_revenue"], r["new_customers"], r["returning_customers"],
         r["churned"], r["active_base"], _pct(r["new_share"])]
        for r in tree
    ]  # fmt: skip

    def eff(r, key, field):
        return _num(r[key][field]) if r[key] else None

    dec_rows = [
        [r["month"].strftime("%Y-%m"), eff(r, "vs_last_month", "change"),
         eff(r, "vs_last_month", "customers"),
         eff(r, "vs_last_month", "frequency"), eff(r, "vs_last_month", "unit_price"),
         eff(r, "vs_last_year", "change"), eff(r, "vs_last_year", "customers"),
         eff(r, "vs_last_year", "frequency"), eff(r, "vs_last_year", "unit_price")]
        for r in tree
    ]  # fmt: skip
    return {
        "staff_id": staff_id,
        "tables": [
            _table(
                "kpi_tree",
                _("KPI tree by month (sales = customers × frequency × unit price)"),
                [_("Month"), _("Sales (JPY)"), _("Customers"), _("Frequency"), _("Unit price (JPY)"),
                 _("Refunds (JPY)"), _("Net revenue (JPY)"), _("New"), _("Returning"), _("Churned"),
                 _("Active base"), _("New share (%)")],
                rows,
                _chart("bar", labels, [
                    {"label": _("Sales (JPY)"), "data": [r["sales"] for r in tree], "yAxisID": "y"},
                    {"label": _("Customers"), "data": [r["customers"] for r in tree], "type": "line",
                     "yAxisID": "y1"},
                ]),
            ),
            _table(
                "kpi_decomposition",
                _("Sales change split into customers, frequency and unit price (LMDI)"),
                [_("Month"), _("Change vs last month"), _("Customers effect"), _("Frequency effect"),
                 _("Unit price effect"), _("Change vs last year"), _("Customers effect"),
                 _("Frequency effect"), _("Unit price effect")],
                dec_rows,
                _chart("bar", labels, [
                    {"label": _("Customers effect"), "data": [d[2] for d in dec_rows]},
                    {"label": _("Frequency effect"), "data": [d[3] for d in dec_rows]},
                    {"label": _("Unit price effect"), "data": [d[4] for d in dec_rows]},
                ], stacked=True, title=_("versus last month")),
            ),
            *_retention_tables(request),
        ],
    }  # fmt: skip


def _retention_notes() -> dict[str, str]:
    return {
        "shaken": _("Of the cars whose 車検 expired in the month, the share that had it done here between "
                    "90 days before and 30 days after the expiry date."),
        "check_12m": _("Of the cars due for their 12-month legal check in the month (a year before the next "
                       "車検), the share that had it done here between 90 days before and 30 days after."),
        "service_return": _("Of the customers who had a service here in the month, the share who came back "
                            "for another service within 12 months."),
    }  # fmt: skip


def _retention_tables(request) -> list[dict]:
    """The retention KPIs of the KPI tree page: by month (whole shop), and by channel, segment and staff."""
    t = request.tenant
    series = selectors.retention_series(tenant=t, months=24)
    labels = [r["month"].strftime("%Y-%m") for r in series]
    kpis = [(k.value, k.label) for k in RetentionKPI]
    notes = _retention_notes()
    cols = [_("Eligible"), _("Retained"), _("Still open"), _("Rate (%)")]
    tables = [
        _table(f"retention_{key}", title, [_("Month"), *cols],
               [[r["month"].strftime("%Y-%m"), r[key]["eligible"], r[key]["retained"], r[key]["pending"],
                 _pct(r[key]["rate"])] for r in series],
               _chart("line", labels,
                      [{"label": _("Rate (%)"), "data": [_pct(r[key]["rate"]) for r in series]}]),
               note=notes[key] + " " + _("A case still open (not done yet, window not over) is left out of "
                                         "the rate until its window closes."))
        for key, title in kpis
    ]  # fmt: skip
    dimensions = [(RetentionDimension.CHANNEL, _("Retention by acquisition channel (last 12 months)")),
                  (RetentionDimension.SEGMENT, _("Retention by segment (last 12 months)"))]  # fmt: skip
    if request.membership.has_role(VIEW_ALL_ANALYTICS):
        dimensions.append((RetentionDimension.STAFF, _("Retention by assigned staff (last 12 months)")))
    for dimension, title in dimensions:
        groups = selectors.retention_by_group(tenant=t, dimension=dimension, months=12)
        tables.append(_table(
            f"retention_by_{dimension}", title,
            [_("Group"), *[f"{label}: {c}" for _k, label in kpis for c in (_("Eligible"), _("Rate (%)"))]],
            [[g["label"], *[v for k, _l in kpis for v in (g[k]["eligible"], _pct(g[k]["rate"]))]]
             for g in groups],
        ))  # fmt: skip
    return tables


def _conversion(request):
    t = request.tenant
    funnel = selectors.conversion_funnel(tenant=t)
    cohorts = selectors.cohort_retention(tenant=t, months=24)
    width = max((len(c["retention"]) for c in cohorts), default=0)
    stage_labels = {"new": _("New (1 transaction)"), "repeat": _("Repeat"), "loyal": _("Loyal")}
    funnel_rows = [
        [_("Customers with a transaction"), funnel["customers"]],
        [_("Repeat within %(n)s months") % {"n": funnel["repeat_within_months"]}, funnel["repeat_in_time"]],
        [_("Loyal (≥ %(n)s transactions)") % {"n": funnel["loyal_min_transactions"]}, funnel["loyal"]],
    ]
    return {
        "funnel": funnel,
        "tables": [
            _table("funnel", _("Stage conversion"), [_("Stage"), _("Customers")], funnel_rows,
                   _chart("bar", [r[0] for r in funnel_rows],
                          [{"label": _("Customers"), "data": [r[1] for r in funnel_rows]}])),
            _table(
                "retention_by_stage", _("Retention by stage"),
                [_("Stage"), _("Customers"), _("Active"), _("Retention (%)")],
                [[stage_labels[s["stage"]], s["customers"], s["active"], _pct(s["retention"])]
                 for s in funnel["retention_by_stage"]],
                _chart("bar", [stage_labels[s["stage"]] for s in funnel["retention_by_stage"]],
                       [{"label": _("Retention (%)"),
                         "data": [_pct(s["retention"]) for s in funnel["retention_by_stage"]]}]),
            ),
            _table(
                "cohorts", _("Cohort retention by first-purchase month (%)"),
                [_("Cohort"), _("Size")] + [f"+{k}" for k in range(width)],
                [[c["cohort"].strftime("%Y-%m"), c["size"]] + [_pct(v) for v in c["retention"]]
                 for c in cohorts],
                _chart("line", [f"+{k}" for k in range(width)],
                       [{"label": c["cohort"].strftime("%Y-%m"), "data": [_pct(v) for v in c["retention"]]}
                        for c in cohorts[-6:]], title=_("last six cohorts")),
            ),
        ],
    }  # fmt: skip


def _migration(request):
    t = request.tenant
    months = selectors.snapshot_months(tenant=t)
    to_month = _month_param(request.GET.get("to")) or (months[0] if months else timezone.localdate())
    from_month = _month_param(request.GET.get("from")) or (
        months[1] if len(months) > 1 else to_month - relativedelta(months=1)
    )
    matrix = selectors.migration_matrix(tenant=t, from_month=from_month, to_month=to_month)
    labels = {s.value: str(s.label) for s in Segment}
    none_label = _("(not in snapshot)")
    rows = [[labels.get(c["from"], none_label), labels.get(c["to"], none_label), c["customers"]]
            for c in matrix["cells"]]  # fmt: skip
    codes = [s.value for s in Segment]
    datasets = [
        {"label": labels[to], "data": [sum(c["customers"] for c in matrix["cells"]
                                           if c["from"] == fr and c["to"] == to) for fr in codes]}
        for to in codes
    ]  # fmt: skip
    return {
        "months": months,
        "from_month": matrix["from_month"],
        "to_month": matrix["to_month"],
        "tables": [
            _table("migration", _("Segment migration %(a)s → %(b)s") % {
                "a": matrix["from_month"].strftime("%Y-%m"), "b": matrix["to_month"].strftime("%Y-%m")},
                [_migration_from(), _migration_to(), _("Customers")], rows,
                _chart("bar", [labels[c] for c in codes], datasets, stacked=True,
                       title=_("x = segment before, stacks = segment after"))),
        ],
    }  # fmt: skip


def _ltv_table(name, title, rows):
    return _table(
        name, title,
        [_("Group"), _("Customers"), _("Revenue to date (JPY)"), _("Gross profit to date (JPY)"),
         _("Avg purchase value (JPY)"), _("Purchases per year"), _("Lifespan (years)"), _("LTV (JPY)"),
         _("CAC (JPY)"), _("LTV ÷ CAC"), _("Predicted 12-month value (JPY)")],
        [[r["label"], r["customers"], r["revenue_to_date"], r["gross_profit_to_date"],
          _num(r["avg_purchase_value"]), _num(r["purchases_per_year"], 3), _num(r["lifespan_years"], 1),
          _num(r["ltv"]), _num(r["cac"]), _num(r["ltv_to_cac"], 2), _num(r["predicted_value_12m"])]
         for r in rows],
        _chart("bar", [r["label"] for r in rows], [
            {"label": _("LTV (JPY)"), "data": [_num(r["ltv"]) for r in rows]},
            {"label": _("CAC (JPY)"), "data": [_num(r["cac"]) for r in rows]},
        ]),
    )  # fmt: skip


def _ltv(request):
    t = request.tenant
    fit = selectors.btyd_fit_latest(tenant=t)
    fit_rows = []
    if fit:
        fit_rows = [
            [_("Fitted at"), timezone.localtime(fit.fitted_at).replace(microsecond=0)],
            [_("Status"), fit.get_status_display()],
            [_("Customers / with repeat purchases"), f"{fit.n_customers} / {fit.n_repeat}"],
            ["BG/NBD r, α, a, b", ", ".join(f"{v:.4g}" for v in (fit.r, fit.alpha, fit.a, fit.b))
             if fit.r is not None else "—"],
            ["Gamma-Gamma p, q, γ", ", ".join(f"{v:.4g}" for v in (fit.p, fit.q, fit.gamma))
             if fit.p is not None else "—"],
            [_("Holdout: predicted repeat transactions (%(w)s weeks)") % {"w": fit.holdout_weeks},
             _num(fit.holdout_predicted, 1)],
            [_("Holdout: actual repeat transactions"), fit.holdout_actual],
            [_("Holdout: customers checked"), fit.holdout_customers],
        ]  # fmt: skip
    summary = selectors.predicted_ltv_summary(tenant=t)
    return {
        "fit": fit,
        "summary": summary,
        "tables": [
            _ltv_table("ltv_by_channel", _("LTV and LTV ÷ CAC by acquisition channel"),
                       selectors.ltv_by_channel(tenant=t)),
            _ltv_table("ltv_by_segment", _("LTV by segment"), selectors.ltv_by_segment(tenant=t)),
            _table("btyd_fit", _("Predicted LTV model (BG/NBD + Gamma-Gamma) and holdout check"),
                   [_("Item"), _("Value")], fit_rows),
        ],
    }  # fmt: skip


def _demographics(request):
    t = request.tenant
    demo = selectors.demographics(tenant=t)
    sat = selectors.satisfaction_by_topic(tenant=t)
    cols = [_("Group"), _("Customers"), _("Buyers in window"), _("Revenue in window (JPY)")]
    tables = []
    for key, title in (
        ("gender", _("By gender")),
        ("age_band", _("By age band")),
        ("region", _("By prefecture")),
    ):
        rows = demo[key]
        tables.append(
            _table(
                key,
                title,
                cols,
                [[r["label"], r["customers"], r["buyers"], r["revenue"]] for r in rows],
                _chart(
                    "bar",
                    [r["label"] for r in rows],
                    [{"label": _("Customers"), "data": [r["customers"] for r in rows]}],
                ),
            )
        )
    tables.append(
        _table(
            "satisfaction",
            _("Satisfaction by topic"),
            [_("Topic"), _("Rated"), _("Average (1–5)")],
            [[r["label"], r["rated"], _num(r["average"], 2)] for r in sat],
            _chart(
                "bar",
                [r["label"] for r in sat],
                [{"label": _("Average (1–5)"), "data": [_num(r["average"], 2) for r in sat]}],
            ),
        )
    )
    return {"tables": tables}  # fmt: skip


SECTIONS = {
    "overview": (_overview, Role.VIEWER),
    "kpi": (_kpi, Role.VIEWER),
    "conversion": (_conversion, Role.VIEWER),
    "migration": (_migration, VIEW_ALL_ANALYTICS),
    "ltv": (_ltv, VIEW_ALL_ANALYTICS),
    "demographics": (_demographics, VIEW_ALL_ANALYTICS),
}


def _migration_from() -> str:
    return pgettext("segment migration", "From")


def _migration_to() -> str:
    return pgettext("segment migration", "To")


# Lazy: module-level titles must follow each request's language, not the one active at import.
SECTION_TITLES = {
    "overview": gettext_lazy("Segments"),
    "kpi": gettext_lazy("KPI tree"),
    "conversion": gettext_lazy("Conversion and cohorts"),
    "migration": gettext_lazy("Migration"),
    "ltv": gettext_lazy("LTV"),
    "demographics": gettext_lazy("Demographics"),
}


def _month_param(value: str | None) -> date | None:
    try:
        return date.fromisoformat(f"{value}-01") if value else None
    except ValueError:
        return None


def _render_section(request, name: str):
    builder, minimum = SECTIONS[name]
    if not request.membership.has_role(minimum):
        raise Http404  # the page does not exist for this role; no hint about its contents
    context = builder(request)
    if request.GET.get("format") == "csv":
        table = next((t for t in context["tables"] if t["name"] == request.GET.get("table")), None)
        if table is None:
            raise Http404
        return csv_response(
            [table["columns"], *table["rows"]], f"{request.tenant.slug}-{name}-{table['name']}.csv"
        )
    visible = [(key, str(SECTION_TITLES[key])) for key, (_b, role) in SECTIONS.items()
               if request.membership.has_role(role)]  # fmt: skip
    context.update(
        section=name,
        sections=visible,
        section_title=SECTION_TITLES[name],
        can_manage=request.membership.has_role(EDIT_RULES),
        scored_segments=SCORED_SEGMENTS,
    )
    return render(
        request, f"analytics/{name}.html" if name == "overview" else "analytics/section.html", context
    )


@tenant_view()
def index(request):
    return _render_section(request, "overview")


@tenant_view()
def section(request, name: str):
    if name not in SECTIONS:
        raise Http404
    return _render_section(request, name)


@tenant_view(read=VIEW_ALL_ANALYTICS)
def segment_export(request, segment: str):
    """CSV of the customers in one segment (personal data: managers only), formula-injection safe."""
    if segment not in Segment.values:
        raise Http404
    rows = (
        selectors.rfm_rows(tenant=request.tenant, segment=segment)
        .values_list(
            "customer_id", "customer__family_name", "customer__given_name", "customer__email",
            "customer__phone", "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score",
        )
        .iterator(chunk_size=2000)
    )  # fmt: skip
    header = [_("ID"), _("Family name"), _("Given name"), _("E-mail"), _("Phone"), _("Recency (days)"),
              _("Frequency"), _("Monetary (JPY)"), "R", "F", "M"]  # fmt: skip
    return csv_response(_chain([header], rows), f"{request.tenant.slug}-segment-{segment}.csv")


def _chain(*iterables):
    for it in iterables:
        yield from it


@tenant_view(read=EDIT_RULES, write=EDIT_RULES)
def segment_map_edit(request):
    """Managers adjust which segment each (R, F) cell maps to; every cell must be mapped exactly once."""
    conf = analytics_settings_get(tenant=request.tenant)
    current = dict(conf.segment_map)
    error = None
    if request.method == "POST":
        new_map = {f"{r}{f}": request.POST.get(f"cell_{r}{f}", "") for r in range(1, 6) for f in range(1, 6)}
        try:
            analytics_settings_update(tenant=request.tenant, segment_map=new_map)
        except ValidationError as exc:
            error = "; ".join(exc.messages)
            current = new_map
        else:
            messages.success(request, _("Segment map saved. It applies from the next refresh."))
            return redirect("analytics:segment_map")
    grid = [
        {
            "r": r,
            "cells": [{"f": f, "key": f"{r}{f}", "value": current.get(f"{r}{f}", "")} for f in range(1, 6)],
        }
        for r in range(5, 0, -1)
    ]
    return render(
        request,
        "analytics/segment_map.html",
        {"grid": grid, "segments": SCORED_SEGMENTS, "error": error, "section": "segment_map",
         "sections": [(k, str(SECTION_TITLES[k])) for k in SECTIONS]},
    )  # fmt: skip
