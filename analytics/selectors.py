# ruff: noqa: S608 -- SQL text is built from model _meta names and fixed fragments; every value is bound.
"""Every read of the analytics app. Tenant first, keyword-only; plain dicts, lists and querysets.

These functions serve the dashboard pages, the REST API and other apps (customer list filter,
reminder audiences, the Today page). Cross-tenant lookups raise Http404.
"""

from __future__ import annotations

from datetime import date

import numpy as np
from dateutil.relativedelta import relativedelta
from django.db.models import Avg, Case, CharField, Count, F, Q, QuerySet, Sum, Value, When
from django.http import Http404
from django.utils import timezone

from analytics.kpi import index_of, lmdi, month_of, monthly_series, with_ratios
from analytics.models import (
    SCORED_SEGMENTS,
    BTYDFit,
    CustomerLTV,
    CustomerRFM,
    MonthlyKPI,
    Segment,
    SegmentSnapshot,
)
from analytics.services import analytics_settings_get
from analytics.sql import days_between, fetchall, month_index, transactions_cte
from crm.models import Tenant
from customers.models import AcquisitionChannel, Customer, Gender
from interactions.models import Interaction, Topic

KPI_FIELDS = ("sales", "customers", "frequency", "unit_price", "new_customers", "churned")
# Expected lifespan used by the simple LTV formula is clamped to this range (years).
LIFESPAN_YEARS_MIN, LIFESPAN_YEARS_MAX = 1.0, 20.0
DAYS_PER_MONTH = 30.4375


def _segment_label(code: str) -> str:
    return str(Segment(code).label) if code in Segment.values else code


# --- RFM and segments ------------------------------------------------------------------------------
def customers_in_segment(*, tenant: Tenant, segment: str) -> QuerySet[Customer]:
    """The tenant's customers whose latest RFM segment is `segment` (empty for an unknown segment)."""
    customers = Customer.objects.for_tenant(tenant)
    if segment not in Segment.values:
        return customers.none()
    return customers.filter(rfm__segment=segment, rfm__tenant=tenant)


def customer_rfm_get(*, tenant: Tenant, customer_id: int) -> CustomerRFM:
    """One customer's RFM row; 404 if the customer is not the tenant's or was never scored."""
    row = CustomerRFM.objects.for_tenant(tenant).filter(customer_id=customer_id).first()
    if row is None:
        raise Http404
    return row


def rfm_rows(*, tenant: Tenant, segment: str | None = None) -> QuerySet[CustomerRFM]:
    """RFM rows with the customer loaded, optionally of one segment (for lists, API and CSV export)."""
    rows = CustomerRFM.objects.for_tenant(tenant).select_related("customer").order_by("customer_id")
    return rows.filter(segment=segment) if segment else rows


def rfm_computed_at(*, tenant: Tenant):
    return (
        CustomerRFM.objects.for_tenant(tenant)
        .order_by("-computed_at")
        .values_list("computed_at", flat=True)
        .first()
    )


def segment_summary(*, tenant: Tenant) -> list[dict]:
    """Per segment (display order, every segment listed): customers, share, revenue and averages."""
    stats = {
        row["segment"]: row
        for row in CustomerRFM.objects.for_tenant(tenant)
        .values("segment")
        .annotate(
            customers=Count("id"),
            total_monetary=Sum("monetary"),
            avg_recency=Avg("recency_days"),
            avg_frequency=Avg("frequency"),
            avg_monetary=Avg("monetary"),
        )
        .order_by()
    }
    total = sum(r["customers"] for r in stats.values())
    result = []
    for seg in Segment:
        row = stats.get(seg.value, {})
        n = row.get("customers", 0)
        result.append(
            {
                "segment": seg.value,
                "label": str(seg.label),
                "customers": n,
                "share": n / total if total else 0.0,
                "monetary": int(row.get("total_monetary") or 0),
                "avg_recency_days": row.get("avg_recency"),
                "avg_frequency": row.get("avg_frequency"),
                "avg_monetary": row.get("avg_monetary"),
            }
        )
    return result


def rfm_grid(*, tenant: Tenant) -> list[dict]:
    """All 25 recency × frequency cells with customer count, revenue and the mapped segment."""
    counts = {
        (row["r_score"], row["f_score"]): row
        for row in CustomerRFM.objects.for_tenant(tenant)
        .filter(r_score__isnull=False)
        .values("r_score", "f_score")
        .annotate(customers=Count("id"), total_monetary=Sum("monetary"))
        .order_by()
    }
    seg_map = analytics_settings_get(tenant=tenant).segment_map
    cells = []
    for r in range(5, 0, -1):
        for f in range(1, 6):
            row = counts.get((r, f), {})
            code = seg_map.get(f"{r}{f}", "")
            cells.append(
                {
                    "r": r,
                    "f": f,
                    "customers": row.get("customers", 0),
                    "monetary": int(row.get("total_monetary") or 0),
                    "segment": code,
                    "label": _segment_label(code),
                }
            )
    return cells


def snapshot_months(*, tenant: Tenant) -> list[date]:
    """Months that have a segment snapshot, newest first."""
    return list(
        SegmentSnapshot.objects.for_tenant(tenant)
        .values_list("month", flat=True)
        .distinct()
        .order_by("-month")
    )


def migration_matrix(*, tenant: Tenant, from_month: date, to_month: date) -> dict:
    """How many customers moved from segment X (snapshot of `from_month`) to Y (of `to_month`).

    Customers present in only one of the two snapshots appear with X or Y = None (new / deleted).
    """
    snaps = SegmentSnapshot.objects.for_tenant(tenant)
    before = snaps.filter(month=from_month.replace(day=1))
    after = snaps.filter(month=to_month.replace(day=1))
    before_map = dict(before.values_list("customer_id", "segment"))
    after_rows = after.values_list("customer_id", "segment")
    # Two queries, then a count per pair: the snapshot rows are already one per customer.
    pairs: dict[tuple, int] = {}
    seen = set()
    for customer_id, seg in after_rows.iterator():
        key = (before_map.get(customer_id), seg)
        pairs[key] = pairs.get(key, 0) + 1
        seen.add(customer_id)
    for customer_id, seg in before_map.items():
        if customer_id not in seen:
            pairs[(seg, None)] = pairs.get((seg, None), 0) + 1
    order = [s.value for s in Segment]
    return {
        "from_month": from_month.replace(day=1),
        "to_month": to_month.replace(day=1),
        "segments": [{"segment": s.value, "label": str(s.label)} for s in Segment],
        "cells": [
            {"from": a, "to": b, "customers": n}
            for (a, b), n in sorted(
                pairs.items(),
                key=lambda kv: (
                    order.index(kv[0][0]) if kv[0][0] else -1,
                    order.index(kv[0][1]) if kv[0][1] else -1,
                ),
            )
        ],
    }


def customer_segment_history(*, tenant: Tenant, customer_id: int) -> list[dict]:
    """A customer's segment per snapshot month, oldest first; 404 for another tenant's customer."""
    if not Customer.objects.for_tenant(tenant).filter(pk=customer_id).exists():
        raise Http404
    return [
        {"month": month, "segment": seg, "label": _segment_label(seg)}
        for month, seg in SegmentSnapshot.objects.for_tenant(tenant)
        .filter(customer_id=customer_id)
        .order_by("month")
        .values_list("month", "segment")
    ]


# --- KPI tree --------------------------------------------------------------------------------------
def _changes(rows: list[dict]) -> list[dict]:
    by_month = {r["month"]: r for r in rows}
    out = []
    for row in rows:
        prev = by_month.get(row["month"] - relativedelta(months=1))
        last_year = by_month.get(row["month"] - relativedelta(years=1))
        out.append({**row, "vs_last_month": lmdi(prev, row), "vs_last_year": lmdi(last_year, row)})
    return out


def kpi_tree(
    *, tenant: Tenant, months: int = 36, as_of: date | None = None, staff_id: int | None = None
) -> list[dict]:
    """The KPI tree of the last `months` months up to `as_of`, oldest first.

    Each month: sales = customers × frequency × unit price, refunds, net revenue, new / returning /
    reactivated / churned customers, active base, new-customer share, and the LMDI split of the sales
    change versus last month and the same month last year. The whole shop reads the precomputed
    MonthlyKPI table; per staff member (`staff_id`, customers assigned to them) is computed live.
    """
    as_of = as_of or timezone.localdate()
    start = as_of.replace(day=1) - relativedelta(months=months - 1)
    fetch_from = start - relativedelta(years=1)  # the comparisons need the year before
    if staff_id is None:
        fields = [
            "month", "sales", "refunds", "transactions", "customers", "new_customers",
            "returning_customers", "reactivated", "churned", "active_base",
        ]  # fmt: skip
        stored = list(
            MonthlyKPI.objects.for_tenant(tenant)
            .filter(month__gte=fetch_from, month__lte=as_of)
            .order_by("month")
            .values(*fields)
        )
    else:
        conf = analytics_settings_get(tenant=tenant)
        stored = [
            r
            for r in monthly_series(
                tenant_id=tenant.pk,
                source=conf.source,
                as_of=as_of,
                horizon_months=tenant.churn_horizon_months,
                staff_id=staff_id,
            )
            if r["month"] >= fetch_from
        ]
    # Fill months without any row so the series is continuous.
    have = {r["month"]: r for r in stored}
    active = 0
    rows = []
    for i in range(index_of(fetch_from), index_of(as_of) + 1):
        m = month_of(i)
        row = have.get(m)
        if row is None:
            row = {
                "month": m, "sales": 0, "refunds": 0, "transactions": 0, "customers": 0, "new_customers": 0,
                "returning_customers": 0, "reactivated": 0, "churned": 0, "active_base": active,
            }  # fmt: skip
        active = row["active_base"]
        rows.append(with_ratios(row))
    return [r for r in _changes(rows) if r["month"] >= start]


def kpi_cards(*, tenant: Tenant, month: date) -> dict:
    """This month vs last month vs the same month last year, for the Today page.

    Returns {"month", "current", "last_month", "last_year": {field: value},
    "change_vs_last_month", "change_vs_last_year": LMDI split or None,
    "main_driver": "customers" | "frequency" | "unit_price" | None}.
    """
    month = month.replace(day=1)
    rows = kpi_tree(tenant=tenant, months=13, as_of=month + relativedelta(months=1, days=-1))
    by_month = {r["month"]: r for r in rows}

    def pick(m):
        row = by_month.get(m)
        return {k: row[k] for k in KPI_FIELDS} if row else dict.fromkeys(KPI_FIELDS)

    current = by_month.get(month)
    driver = current["vs_last_month"]["main_driver"] if current and current["vs_last_month"] else None
    return {
        "month": month,
        "current": pick(month),
        "last_month": pick(month - relativedelta(months=1)),
        "last_year": pick(month - relativedelta(years=1)),
        "change_vs_last_month": current["vs_last_month"] if current else None,
        "change_vs_last_year": current["vs_last_year"] if current else None,
        "main_driver": driver,
    }


# --- Conversion and cohorts -----------------------------------------------------------------------
def conversion_funnel(*, tenant: Tenant, as_of: date | None = None) -> dict:
    """Stage conversion: new → repeat within N months → loyal (≥ L transaction days).

    N = settings.repeat_within_months (counted as N × 30.4375 days), L = settings.loyal_min_transactions.
    Median days between stages and retention by stage (share of customers at each stage whose last
    transaction is within the churn horizon) are included. One query; medians with numpy.
    """
    as_of = as_of or timezone.localdate()
    conf = analytics_settings_get(tenant=tenant)
    tx, params = transactions_cte(source=conf.source, tenant_id=tenant.pk, until=as_of)
    loyal = int(conf.loyal_min_transactions)
    sql = f"""
    WITH {tx},
    days AS (SELECT DISTINCT customer_id, d FROM tx WHERE NOT is_refund),
    num AS (SELECT customer_id, d, ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY d) AS k FROM days),
    st AS (
        SELECT customer_id, MAX(CASE WHEN k = 1 THEN d END) AS d1, MAX(CASE WHEN k = 2 THEN d END) AS d2,
               MAX(CASE WHEN k = {loyal} THEN d END) AS dl, MAX(d) AS last_d, COUNT(*) AS n
        FROM num GROUP BY customer_id
    )
    SELECT n, {days_between("d2", "d1")}, {days_between("dl", "d2")}, {days_between("%s", "last_d")}
    FROM st
    """
    rows = fetchall(sql, [*params, as_of])
    horizon_days = (as_of - (as_of - relativedelta(months=tenant.churn_horizon_months))).days
    repeat_days = int(conf.repeat_within_months * DAYS_PER_MONTH)
    if rows:
        arr = np.array(
            [[r[0], -1 if r[1] is None else r[1], -1 if r[2] is None else r[2], r[3]] for r in rows]
        )
        n, gap1, gap2, since = arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3]
    else:
        n = gap1 = gap2 = since = np.array([])
    active = since <= horizon_days
    repeat_in_time = (n >= 2) & (gap1 <= repeat_days) & (gap1 >= 0)
    stages = {"new": n == 1, "repeat": (n >= 2) & (n < loyal), "loyal": n >= loyal}

    def median(values):
        return float(np.median(values)) if len(values) else None

    return {
        "customers": len(n),
        "repeat_within_months": conf.repeat_within_months,
        "loyal_min_transactions": loyal,
        "repeat_in_time": int(repeat_in_time.sum()),
        "repeat_rate": float(repeat_in_time.mean()) if len(n) else None,
        "repeat_any": int((n >= 2).sum()),
        "loyal": int((n >= loyal).sum()),
        "loyal_rate_of_repeat": float((n >= loyal).sum() / (n >= 2).sum()) if (n >= 2).sum() else None,
        "median_days_first_to_repeat": median(gap1[n >= 2]),
        "median_days_repeat_to_loyal": median(gap2[n >= loyal]),
        "retention_by_stage": [
            {
                "stage": stage,
                "customers": int(mask.sum()),
                "active": int((mask & active).sum()),
                "retention": float((mask & active).sum() / mask.sum()) if mask.sum() else None,
            }
            for stage, mask in stages.items()
        ],
    }


def cohort_retention(*, tenant: Tenant, as_of: date | None = None, months: int = 24) -> list[dict]:
    """Cohorts by first-transaction month (the last `months` cohorts): size and, for each month offset
    k = 0, 1, …, the number and share of the cohort with a transaction in month cohort + k."""
    as_of = as_of or timezone.localdate()
    conf = analytics_settings_get(tenant=tenant)
    tx, params = transactions_cte(source=conf.source, tenant_id=tenant.pk, until=as_of)
    sql = f"""
    WITH {tx},
    cm AS (SELECT DISTINCT customer_id, {month_index("d")} AS mi FROM tx WHERE NOT is_refund),
    firsts AS (SELECT customer_id, MIN(mi) AS f FROM cm GROUP BY customer_id)
    SELECT firsts.f, cm.mi - firsts.f, COUNT(*)
    FROM cm JOIN firsts ON firsts.customer_id = cm.customer_id
    WHERE firsts.f >= %s
    GROUP BY firsts.f, cm.mi - firsts.f
    """
    first_index = index_of(as_of) - months + 1
    cohorts: dict[int, dict[int, int]] = {}
    for f, k, c in fetchall(sql, [*params, first_index]):
        cohorts.setdefault(int(f), {})[int(k)] = int(c)
    result = []
    for f in sorted(cohorts):
        size = cohorts[f].get(0, 0)
        width = index_of(as_of) - f + 1
        counts = [cohorts[f].get(k, 0) for k in range(width)]
        result.append(
            {
                "cohort": month_of(f),
                "size": size,
                "active": counts,
                "retention": [c / size if size else None for c in counts],
            }
        )
    return result


# --- LTV -------------------------------------------------------------------------------------------
def expected_lifespan_years(*, tenant: Tenant, as_of: date | None = None) -> float:
    """1 ÷ annual churn rate over the last 12 stored months (churned ÷ average active base),
    clamped to [1, 20] years; 20 when nobody churned."""
    as_of = as_of or timezone.localdate()
    agg = (
        MonthlyKPI.objects.for_tenant(tenant)
        .filter(month__gt=as_of - relativedelta(months=12), month__lte=as_of)
        .aggregate(churned=Sum("churned"), base=Avg("active_base"))
    )
    churned, base = agg["churned"] or 0, agg["base"] or 0
    if not churned or not base:
        return LIFESPAN_YEARS_MAX
    return float(min(max(base / churned, LIFESPAN_YEARS_MIN), LIFESPAN_YEARS_MAX))


def _ltv_rows(*, tenant: Tenant, group_field: str) -> list[dict]:
    conf = analytics_settings_get(tenant=tenant)
    years = conf.window_months / 12
    lifespan = expected_lifespan_years(tenant=tenant)
    rows = (
        CustomerRFM.objects.for_tenant(tenant)
        .values(group=F(group_field))
        .annotate(
            customers=Count("id"),
            buyers=Count("id", filter=Q(frequency__gt=0)),
            window_revenue=Sum("monetary"),
            window_transactions=Sum("frequency"),
            revenue_to_date=Sum("revenue_to_date"),
            gross_profit_to_date=Sum("gross_profit_to_date"),
            cac=Avg("customer__acquisition_cost", filter=Q(customer__acquisition_cost__gt=0)),
            predicted_value_12m=Avg("customer__ltv__expected_value_12m"),
        )
        .order_by("group")
    )
    result = []
    for row in rows:  # one row per segment or channel
        tx = row["window_transactions"] or 0
        avg_value = (row["window_revenue"] or 0) / tx if tx else None
        freq = tx / row["buyers"] / years if row["buyers"] else None
        ltv = avg_value * freq * lifespan if avg_value is not None and freq is not None else None
        cac = float(row["cac"]) if row["cac"] else None
        result.append(
            {
                "group": row["group"],
                "customers": row["customers"],
                "buyers": row["buyers"],
                "revenue_to_date": int(row["revenue_to_date"] or 0),
                "gross_profit_to_date": int(row["gross_profit_to_date"] or 0),
                "avg_purchase_value": avg_value,
                "purchases_per_year": freq,
                "lifespan_years": lifespan,
                "ltv": ltv,
                "cac": cac,
                "ltv_to_cac": ltv / cac if ltv is not None and cac else None,
                "predicted_value_12m": row["predicted_value_12m"],
            }
        )
    return result


def ltv_by_segment(*, tenant: Tenant) -> list[dict]:
    """Simple LTV (average purchase value × purchases per year × expected lifespan) per RFM segment."""
    labels = {s.value: str(s.label) for s in Segment}
    rows = _ltv_rows(tenant=tenant, group_field="segment")
    order = [s.value for s in Segment]
    for row in rows:
        row["label"] = labels.get(row["group"], row["group"])
    return sorted(rows, key=lambda r: order.index(r["group"]) if r["group"] in order else 99)


def ltv_by_channel(*, tenant: Tenant) -> list[dict]:
    """Simple LTV, CAC (average Customer.acquisition_cost > 0) and LTV ÷ CAC per acquisition channel."""
    labels = dict(AcquisitionChannel.choices)
    rows = _ltv_rows(tenant=tenant, group_field="customer__acquisition_channel")
    for row in rows:
        row["label"] = str(labels.get(row["group"], row["group"]))
    return rows


def customer_ltv_get(*, tenant: Tenant, customer_id: int) -> dict:
    """Historical and predicted value of one customer; 404 for another tenant's customer."""
    if not Customer.objects.for_tenant(tenant).filter(pk=customer_id).exists():
        raise Http404
    rfm = CustomerRFM.objects.for_tenant(tenant).filter(customer_id=customer_id).first()
    predicted = CustomerLTV.objects.for_tenant(tenant).filter(customer_id=customer_id).first()
    return {
        "customer_id": customer_id,
        "revenue_to_date": rfm.revenue_to_date if rfm else None,
        "gross_profit_to_date": rfm.gross_profit_to_date if rfm else None,
        "transactions_to_date": rfm.transactions_to_date if rfm else None,
        "insufficient_history": predicted.insufficient_history if predicted else True,
        "expected_purchases_12m": predicted.expected_purchases_12m if predicted else None,
        "p_alive": predicted.p_alive if predicted else None,
        "expected_value_12m": predicted.expected_value_12m if predicted else None,
    }


def btyd_fit_latest(*, tenant: Tenant) -> BTYDFit | None:
    return BTYDFit.objects.for_tenant(tenant).order_by("-fitted_at").first()


def predicted_ltv_summary(*, tenant: Tenant) -> dict:
    """Counts of customers with and without a prediction, and totals of the predictions."""
    agg = CustomerLTV.objects.for_tenant(tenant).aggregate(
        customers=Count("id"),
        insufficient=Count("id", filter=Q(insufficient_history=True)),
        expected_purchases=Sum("expected_purchases_12m"),
        expected_value=Sum("expected_value_12m"),
        avg_p_alive=Avg("p_alive"),
    )
    return agg


# --- Demographics and satisfaction ---------------------------------------------------------------
AGE_BANDS = [(70, "70+"), (60, "60–69"), (50, "50–59"), (40, "40–49"), (30, "30–39"), (0, "<30")]


def _age_band(as_of: date):
    whens = [When(customer__birthday__isnull=True, then=Value("unknown"))]
    for years, label in AGE_BANDS:
        whens.append(When(customer__birthday__lte=as_of - relativedelta(years=years), then=Value(label)))
    return Case(*whens, default=Value("unknown"), output_field=CharField())


def demographics(*, tenant: Tenant, as_of: date | None = None) -> dict:
    """Customers, buyers in the RFM window and window revenue by gender, age band and prefecture."""
    as_of = as_of or timezone.localdate()
    base = CustomerRFM.objects.for_tenant(tenant)
    measures = {
        "customers": Count("id"),
        "buyers": Count("id", filter=Q(frequency__gt=0)),
        "revenue": Sum("monetary"),
    }
    genders = dict(Gender.choices)

    def rows(qs, label):
        return [
            {"group": r["group"], "label": label(r["group"]), "customers": r["customers"],
             "buyers": r["buyers"], "revenue": int(r["revenue"] or 0)}
            for r in qs.annotate(**measures).order_by("group")
        ]  # fmt: skip

    age_order = [label for _, label in reversed(AGE_BANDS)] + ["unknown"]
    by_age = rows(base.values(group=_age_band(as_of)), lambda g: g)
    return {
        "gender": rows(base.values(group=F("customer__gender")), lambda g: str(genders.get(g, g))),
        "age_band": sorted(by_age, key=lambda r: age_order.index(r["group"])),
        "region": rows(base.values(group=F("customer__prefecture")), lambda g: g or "—"),
    }


def satisfaction_by_topic(*, tenant: Tenant) -> list[dict]:
    """Average satisfaction (1–5) and number of rated interactions per topic."""
    labels = dict(Topic.choices)
    return [
        {"topic": r["topic"], "label": str(labels.get(r["topic"], r["topic"])), "rated": r["rated"],
         "average": float(r["average"]) if r["average"] is not None else None}
        for r in Interaction.objects.for_tenant(tenant)
        .filter(satisfaction__isnull=False)
        .values("topic")
        .annotate(rated=Count("id"), average=Avg("satisfaction"))
        .order_by("topic")
    ]  # fmt: skip


SEGMENT_CODES = [s.value for s in SCORED_SEGMENTS]
