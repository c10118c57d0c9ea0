"""Every read of results: the list of rules and campaigns with their headline effect, and one rule's
(or campaign's) funnel, treated / held-out comparison and monthly trend, from the precomputed rows."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from dateutil.relativedelta import relativedelta
from django.db.models import Max, Sum
from django.shortcuts import get_object_or_404
from django.utils import timezone

from crm.models import Tenant
from reminders.models import TRANSACTIONAL_KINDS, Campaign, ReminderRule, RuleKind
from results import stats
from results.models import FunnelMonthly, UpliftMonthly

STAGES = ("planned", "sent", "opened", "clicked", "booked", "visited")
FUNNEL_FIELDS = (*STAGES, "revenue")


def results_computed_at(*, tenant: Tenant):
    return FunnelMonthly.objects.for_tenant(tenant).aggregate(at=Max("computed_at"))["at"]


def reported_rules(*, tenant: Tenant):
    """The rules with results: the shop's own rules and its campaigns' rules (not booking messages or
    one-off personal messages)."""
    return (
        ReminderRule.objects.for_tenant(tenant)
        .exclude(kind__in=[*TRANSACTIONAL_KINDS, RuleKind.PERSONAL])
        .order_by("kind", "name", "pk")
    )


def _campaign_names(tenant: Tenant) -> dict[int, str]:
    return dict(Campaign.objects.for_tenant(tenant).values_list("rule_id", "name"))


def _groups(rows) -> tuple[stats.Group, stats.Group]:
    by_group = {True: [0, 0, 0, 0.0], False: [0, 0, 0, 0.0]}
    for row in rows:
        acc = by_group[row["held_out"]]
        acc[0] += row["customers"]
        acc[1] += row["visited"]
        acc[2] += row["revenue"]
        acc[3] += row["revenue_sq"]
    return stats.Group(*by_group[False]), stats.Group(*by_group[True])


def _uplift_fields(result: stats.Uplift) -> dict:
    return {
        "uplift": result,
        "summary": stats.plain_words(result),
        "summaries": stats.plain_words_all(result),
    }


def results_overview(*, tenant: Tenant) -> list[dict]:
    """Every reported rule and campaign: funnel totals and the treated / held-out headline."""
    funnel = {
        row["rule_id"]: row
        for row in FunnelMonthly.objects.for_tenant(tenant)
        .values("rule_id")
        .annotate(**{f: Sum(f) for f in FUNNEL_FIELDS})
    }
    uplift_rows = defaultdict(list)
    for row in (
        UpliftMonthly.objects.for_tenant(tenant)
        .values("rule_id", "held_out")
        .annotate(customers=Sum("customers"), visited=Sum("visited"), revenue=Sum("revenue"),
                  revenue_sq=Sum("revenue_sq"))
    ):  # fmt: skip
        uplift_rows[row["rule_id"]].append(row)
    campaigns = _campaign_names(tenant)
    out = []
    for rule in reported_rules(tenant=tenant):
        totals = funnel.get(rule.pk) or dict.fromkeys(FUNNEL_FIELDS, 0)
        treated, held = _groups(uplift_rows.get(rule.pk, []))
        out.append(
            {
                "rule": rule,
                "name": campaigns.get(rule.pk, rule.name),
                "is_campaign": rule.kind == RuleKind.CAMPAIGN,
                "holdout_percent": rule.holdout_percent,
                **{f: totals[f] or 0 for f in FUNNEL_FIELDS},
                **_uplift_fields(stats.uplift(treated, held)),
            }
        )
    return out


def rule_get(*, tenant: Tenant, pk: int) -> ReminderRule:
    """One reported rule of the tenant (another tenant's, or a booking message rule, is a 404)."""
    return get_object_or_404(reported_rules(tenant=tenant), pk=pk)


def rule_results(*, tenant: Tenant, rule: ReminderRule, months: int = 12, as_of: date | None = None) -> dict:
    """One rule's (or campaign's) results: funnel in total, by step and by channel; treated vs held out
    overall; and by month (of the due date) for the last `months` months."""
    as_of = as_of or timezone.localdate()
    start = as_of.replace(day=1) - relativedelta(months=months - 1)
    funnel = list(
        FunnelMonthly.objects.for_tenant(tenant)
        .filter(rule=rule)
        .values("step", "channel", "month", *FUNNEL_FIELDS)
    )
    uplift = list(
        UpliftMonthly.objects.for_tenant(tenant)
        .filter(rule=rule)
        .values("month", "held_out", "customers", "visited", "revenue", "revenue_sq")
    )

    def total(rows, key=None) -> list[dict]:
        acc: dict = {}
        for row in rows:
            k = key(row) if key else None
            into = acc.setdefault(k, dict.fromkeys(FUNNEL_FIELDS, 0))
            for f in FUNNEL_FIELDS:
                into[f] += row[f]
        return [{"key": k, **v} for k, v in sorted(acc.items(), key=lambda kv: (kv[0] is None, kv[0]))]

    by_month_uplift = defaultdict(list)
    for row in uplift:
        by_month_uplift[row["month"]].append(row)
    by_month_funnel = {r["key"]: r for r in total(funnel, key=lambda r: r["month"])}
    trend = []
    for i in range(months):
        month = start + relativedelta(months=i)
        treated, held = _groups(by_month_uplift.get(month, []))
        trend.append(
            {
                "month": month,
                "treated": treated,
                "held": held,
                "funnel": by_month_funnel.get(month, dict.fromkeys(FUNNEL_FIELDS, 0)),
            }
        )
    treated, held = _groups(uplift)
    overall = total(funnel)
    return {
        "rule": rule,
        "name": _campaign_names(tenant).get(rule.pk, rule.name),
        "is_campaign": rule.kind == RuleKind.CAMPAIGN,
        "totals": overall[0] if overall else {"key": None, **dict.fromkeys(FUNNEL_FIELDS, 0)},
        "by_step": total(funnel, key=lambda r: r["step"]),
        "by_channel": total(funnel, key=lambda r: r["channel"]),
        "trend": trend,
        **_uplift_fields(stats.uplift(treated, held)),
    }
