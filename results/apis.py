"""REST endpoints of results (read-only): every rule and campaign with its effect, and one rule's funnel,
treated versus held out and monthly trend. The tenant is the key's or the user's, as everywhere."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.api.permissions import TenantRolePermission
from results import selectors, stats
from results.serializers import ResultsDetailSerializer, ResultsListSerializer


def _round(value, digits=4):
    return None if value is None else round(value, digits)


def _interval(interval: stats.Interval | None, digits=4) -> dict | None:
    if interval is None:
        return None
    return {
        "estimate": round(interval.estimate, digits),
        "low": round(interval.low, digits),
        "high": round(interval.high, digits),
    }


def _group(group: stats.Group) -> dict:
    return {
        "customers": group.customers,
        "visited": group.visited,
        "visit_rate": _round(group.rate),
        "revenue": int(group.revenue),
        "revenue_per_customer": _round(group.revenue_mean, 1),
    }


def uplift_json(result: stats.Uplift, summaries: dict) -> dict:
    return {
        "measurable": result.measurable,
        "treated": _group(result.treated),
        "held_out": _group(result.held),
        "visit_rate_difference": _interval(result.rate),
        "revenue_per_customer_difference": _interval(result.revenue, 1),
        "confidence": stats.CONFIDENCE,
        "needed_per_group": result.needed_per_group,
        "summary": summaries,
    }


def _funnel(row: dict) -> dict:
    return {f: row[f] for f in selectors.FUNNEL_FIELDS}


def _respond(serializer_class, data: dict) -> Response:
    return Response(serializer_class(data).data)


class ResultsListView(APIView):
    permission_classes = [TenantRolePermission]

    @extend_schema(
        operation_id="results_list",
        summary=_("Results of every rule and campaign"),
        description=_(
            "Per reminder rule and campaign: funnel totals (planned, sent, opened, clicked, booked, "
            "visited, revenue) and the effect measured against its holdout: visit rate and revenue per "
            "customer, reminded vs held out, the difference with a 95% interval, the customers needed per "
            "group, and the result in plain words (ja, en)."
        ),
        tags=["results"],
        responses=ResultsListSerializer,
    )
    def get(self, request):
        rows = selectors.results_overview(tenant=request.tenant)
        return _respond(
            ResultsListSerializer,
            {
                "computed_at": selectors.results_computed_at(tenant=request.tenant),
                "rules": [
                    {
                        "rule": r["rule"].pk,
                        "name": r["name"],
                        "is_campaign": r["is_campaign"],
                        "holdout_percent": r["holdout_percent"],
                        "funnel": _funnel(r),
                        "uplift": uplift_json(r["uplift"], r["summaries"]),
                    }
                    for r in rows
                ],
            },
        )


class ResultsDetailView(APIView):
    permission_classes = [TenantRolePermission]

    @extend_schema(
        operation_id="results_detail",
        summary=_("Results of one rule or campaign"),
        description=_(
            "The funnel in total, by step and by channel, the effect against the holdout, and the last 12 "
            "months by month of the due date. `rule_id` is the reminder rule (a campaign's rule for a "
            "campaign)."
        ),
        parameters=[OpenApiParameter("rule_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        tags=["results"],
        responses=ResultsDetailSerializer,
    )
    def get(self, request, rule_id: str):
        if not (rule_id.isascii() and rule_id.isdigit() and int(rule_id) < 2**63):
            raise exceptions.NotFound()
        rule = selectors.rule_get(tenant=request.tenant, pk=int(rule_id))
        result = selectors.rule_results(tenant=request.tenant, rule=rule)
        return _respond(
            ResultsDetailSerializer,
            {
                "computed_at": selectors.results_computed_at(tenant=request.tenant),
                "rule": rule.pk,
                "name": result["name"],
                "is_campaign": result["is_campaign"],
                "holdout_percent": rule.holdout_percent,
                "attribution_days": rule.attribution_days,
                "funnel": _funnel(result["totals"]),
                "by_step": [{"step": s["key"], **_funnel(s)} for s in result["by_step"]],
                "by_channel": [{"channel": s["key"], **_funnel(s)} for s in result["by_channel"]],
                "uplift": uplift_json(result["uplift"], result["summaries"]),
                "months": [
                    {
                        "month": m["month"],
                        "treated": _group(m["treated"]),
                        "held_out": _group(m["held"]),
                        "funnel": _funnel(m["funnel"]),
                    }
                    for m in result["trend"]
                ],
            },
        )
