"""The KPI tree per month (sales = customers × frequency × unit price, with the LMDI split of each
change) and the Today page's cards."""

from __future__ import annotations

from datetime import date

from dateutil.relativedelta import relativedelta
from django.utils import timezone

from analytics.kpi import index_of, lmdi, month_of, monthly_series, with_ratios
from analytics.models import MonthlyKPI
from analytics.services import analytics_settings_get
from crm.models import Tenant

KPI_FIELDS = ("sales", "customers", "frequency", "unit_price", "new_customers", "churned")


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
