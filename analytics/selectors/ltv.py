"""Customer lifetime value: the simple formula per segment and per acquisition channel (with CAC and
LTV ÷ CAC), and the BTYD predictions per customer and in total."""

from __future__ import annotations

from datetime import date

from dateutil.relativedelta import relativedelta
from django.db.models import Avg, Count, F, Q, Sum
from django.http import Http404
from django.utils import timezone

from analytics.models import BTYDFit, CustomerLTV, CustomerRFM, MonthlyKPI, Segment
from analytics.services import analytics_settings_get
from crm.models import Tenant
from customers.models import AcquisitionChannel, Customer

# Expected lifespan used by the simple LTV formula is clamped to this range (years).
LIFESPAN_YEARS_MIN, LIFESPAN_YEARS_MAX = 1.0, 20.0


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
