"""The replacement model's page under Analytics: which method is in use, and how well it did on the
shop's own past (AUC, calibration by decile, hit rate of the top 20 per staff member), plus the shop's
opportunity settings. Managers and owners only (model internals, like the LTV fit)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from analytics.models import SCORED_SEGMENTS
from analytics.views import SECTION_TITLES, SECTIONS
from crm.models import Membership
from crm.tenancy.permissions import tenant_view
from crm.tenancy.roles import EDIT_RULES, VIEW_ALL_ANALYTICS
from opportunities.models import CustomerLeavingRisk, VehicleReplacementScore
from opportunities.services import (
    opportunity_settings_get,
    opportunity_settings_update,
    replacement_enabled,
    replacement_fit_latest,
)


def _pct(value):
    return None if value is None else round(value * 100, 1)


def _settings_from_post(post) -> dict:
    """The settings form's values; a malformed number becomes a ValidationError, not a 500."""
    enabled = {"auto": None, "on": True, "off": False}.get(post.get("replacement_enabled", "auto"))
    margin = (post.get("replacement_margin") or "").replace(",", "").strip()
    deciles = (post.get("leaving_top_deciles") or "").strip()
    if (margin and not margin.isdigit()) or not deciles.isdigit():
        raise ValidationError(_("Enter whole numbers for the margin and the deciles."))
    allowed = {s.value for s in SCORED_SEGMENTS}
    return {
        "replacement_enabled": enabled,
        "replacement_margin": int(margin) if margin else None,
        "leaving_top_deciles": int(deciles),
        "leaving_segments": [s for s in post.getlist("leaving_segments") if s in allowed],
    }


def _calibration_table(fit) -> dict:
    rows = [[c["decile"], c["vehicles"], _pct(c["predicted"]), _pct(c["observed"]),
             round((c["observed"] - c["predicted"]) * 100, 1)] for c in fit.calibration]  # fmt: skip
    labels = [str(c["decile"]) for c in fit.calibration]
    return {
        "name": "calibration",
        "title": _("Calibration: predicted and observed replacements by decile of the score"),
        "columns": [_("Decile"), _("Vehicles"), _("Predicted (%)"), _("Observed (%)"), _("Gap (points)")],
        "rows": rows,
        "chart": {
            "type": "bar",
            "labels": labels,
            "datasets": [
                {"label": _("Predicted (%)"), "data": [r[2] for r in rows]},
                {"label": _("Observed (%)"), "data": [r[3] for r in rows]},
            ],
            "stacked": False,
            "title": _("x = decile (lowest scores first)"),
        },
    }


def _staff_table(tenant, fit) -> dict:
    names = {
        m.user_id: str(m.user)
        for m in Membership.objects.for_tenant(tenant)
        .filter(user_id__in=[s["staff_id"] for s in fit.hit_by_staff])
        .select_related("user")
    }
    rows = [
        [
            names.get(s["staff_id"], _("(unassigned)")),
            s["listed"],
            s["replaced"],
            _pct(s["replaced"] / s["listed"]),
        ]
        for s in fit.hit_by_staff
        if s["listed"]
    ]
    return {
        "name": "hit_rate",
        "title": _("Hit rate of the top 20 per staff member"),
        "columns": [_("Staff member"), _("Listed"), _("Replaced within 6 months"), _("Hit rate (%)")],
        "rows": rows,
        "chart": None,
    }


@tenant_view(read=VIEW_ALL_ANALYTICS, write=EDIT_RULES)
def replacement_model(request):
    tenant = request.tenant
    error = None
    if request.method == "POST":
        try:
            opportunity_settings_update(tenant=tenant, **_settings_from_post(request.POST))
        except ValidationError as exc:
            error = "; ".join(exc.messages)
        else:
            messages.success(request, _("Settings saved. They apply from the next nightly refresh."))
            return redirect("opportunities_model:index")
    conf = opportunity_settings_get(tenant=tenant)
    fit = replacement_fit_latest(tenant=tenant)
    base_rate = fit.test_events / fit.test_vehicles if fit and fit.test_vehicles else None
    context = {
        "section": "replacement_model",
        "sections": [
            (k, str(SECTION_TITLES[k]))
            for k, (_b, role) in SECTIONS.items()
            if request.membership.has_role(role)
        ],
        "can_manage": request.membership.has_role(EDIT_RULES),
        "conf": conf,
        "enabled": replacement_enabled(tenant=tenant, conf=conf),
        "fit": fit,
        "auc": None if not fit or fit.auc is None else round(fit.auc, 3),
        "base_rate": _pct(base_rate),
        "hit_rate": _pct(fit.hit_replaced / fit.hit_listed) if fit and fit.hit_listed else None,
        "scored": VehicleReplacementScore.objects.for_tenant(tenant).count(),
        "leaving": CustomerLeavingRisk.objects.for_tenant(tenant).count(),
        "segments": SCORED_SEGMENTS,
        "error": error,
        "tables": [_calibration_table(fit), _staff_table(tenant, fit)] if fit else [],
    }
    return render(request, "opportunities/model.html", context)
