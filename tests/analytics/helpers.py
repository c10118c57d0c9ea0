"""Random shop histories for the analytics correctness tests, and straightforward pandas references.

The references are written from the documented definitions, row by row in pandas, independently
of the SQL in `analytics/` (no shared code except the default segment map, which is data).
"""

from __future__ import annotations

from datetime import date, timedelta
from itertools import count

import pandas as pd
from dateutil.relativedelta import relativedelta
from hypothesis import strategies as st

from customers.models import Customer, Purchase, PurchaseCategory, ServiceRecord, Vehicle
from tests.factories import TenantFactory

AS_OF = date(2026, 3, 15)
BASE = date(2022, 1, 1)
_slugs = count()

# Few distinct days and amounts on purpose: ties, same-day double purchases and zero amounts are common.
transaction = st.tuples(
    st.integers(0, 7),  # customer index
    st.sampled_from(
        [0, 1, 30, 31, 200, 365, 400, 700, 1000, 1180, 1200, 1500, 1535, 1536, 1600]
    ),  # day offset
    st.sampled_from([0, 1000, 1000, 5000, 120_000, 2_500_000]),
    st.sampled_from(["purchase", "purchase", "refund", "service"]),
)
history = st.tuples(st.integers(0, 8), st.lists(transaction, max_size=30))


def build_shop(n_customers: int, rows: list[tuple], *, tenant=None, staff=None):
    """Create a tenant with `n_customers` customers and the given (customer, day, amount, kind) rows.

    Returns (tenant, customers, frame) where frame has one row per transaction row.
    """
    tenant = tenant or TenantFactory(slug=f"hyp-{next(_slugs)}")
    customers = Customer.objects.bulk_create(
        [
            Customer(
                tenant=tenant,
                family_name=f"客{i}",
                gender=["female", "male", "unknown"][i % 3],
                prefecture=["東京都", "大阪府"][i % 2],
                birthday=date(1960 + 7 * i, 5, 1),
                acquisition_channel=["walk_in", "website"][i % 2],
                acquisition_cost=[0, 20_000][i % 2],
                assigned_staff=staff if i % 2 else None,
            )
            for i in range(n_customers)
        ]
    )
    vehicles = Vehicle.objects.bulk_create(
        [Vehicle(tenant=tenant, customer=c, maker="トヨタ", model_name="アクア") for c in customers]
    )
    category = PurchaseCategory.objects.for_tenant(tenant).get(code="parts")
    purchases, services, records = [], [], []
    for idx, offset, amount, kind in rows:
        if idx >= n_customers:
            continue
        day = BASE + timedelta(days=offset)
        customer = customers[idx]
        if kind == "service":
            services.append(
                ServiceRecord(
                    tenant=tenant,
                    customer=customer,
                    vehicle=vehicles[idx],
                    date=day,
                    kind="repair",
                    amount=amount,
                )
            )
        else:
            signed = -amount if kind == "refund" else amount
            purchases.append(
                Purchase(
                    tenant=tenant,
                    customer=customer,
                    date=day,
                    category=category,
                    amount=signed,
                    gross_profit=signed // 4,
                    is_refund=kind == "refund",
                )
            )
            amount = signed
        records.append(
            {
                "customer_id": customer.pk,
                "date": pd.Timestamp(day),
                "amount": amount,
                "gross_profit": amount // 4 if kind != "service" else 0,
                "is_refund": kind == "refund",
                "source": "services" if kind == "service" else "purchases",
            }
        )
    Purchase.objects.bulk_create(purchases)
    ServiceRecord.objects.bulk_create(services)
    frame = pd.DataFrame(
        records, columns=["customer_id", "date", "amount", "gross_profit", "is_refund", "source"]
    )
    return tenant, customers, frame


def select_source(frame: pd.DataFrame, source: str, as_of: date) -> pd.DataFrame:
    frame = frame[frame["date"] <= pd.Timestamp(as_of)]
    if source != "both":
        frame = frame[frame["source"] == source]
    return frame


def reference_score(values: pd.Series, *, higher_is_better: bool = True) -> pd.Series:
    """Quintile score 1..5: 1 + floor(5 × (customers with a strictly worse value) / n)."""
    n = len(values)
    worse = values.apply(lambda v: int((values < v).sum()) if higher_is_better else int((values > v).sum()))
    return 1 + (5 * worse) // n


def plain(value):
    """A pandas cell as a plain Python value (NaN/None → None, numpy ints → int)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def trunc_div(a: int, b: int) -> int:
    q = abs(a) // b
    return q if a >= 0 else -q


def reference_rfm(frame, customer_ids, *, as_of, window_months, source, segment_map) -> pd.DataFrame:
    tx = select_source(frame, source, as_of)
    start = pd.Timestamp(as_of - relativedelta(months=window_months))
    window = tx[tx["date"] > start]
    out = []
    for cid in customer_ids:
        mine = window[window["customer_id"] == cid]
        buy_days = sorted(set(mine.loc[~mine["is_refund"], "date"]))
        monetary = int(mine["amount"].sum())
        out.append(
            {
                "customer_id": cid,
                "frequency": len(buy_days),
                "monetary": monetary,
                "last": buy_days[-1] if buy_days else None,
                "recency_days": (pd.Timestamp(as_of) - buy_days[-1]).days if buy_days else None,
                "average": trunc_div(monetary, len(buy_days)) if buy_days else None,
                "revenue_to_date": int(tx.loc[tx["customer_id"] == cid, "amount"].sum()),
            }
        )
    ref = pd.DataFrame(
        out,
        columns=[
            "customer_id",
            "frequency",
            "monetary",
            "last",
            "recency_days",
            "average",
            "revenue_to_date",
        ],
    )
    scored = ref["frequency"] > 0
    ref["r_score"] = ref["f_score"] = ref["m_score"] = None
    ref["segment"] = "no_purchase"
    if scored.any():
        s = ref[scored]
        r = reference_score(s["recency_days"], higher_is_better=False)
        f = reference_score(s["frequency"])
        m = reference_score(s["monetary"])
        ref.loc[scored, "r_score"] = r
        ref.loc[scored, "f_score"] = f
        ref.loc[scored, "m_score"] = m
        ref.loc[scored, "segment"] = [segment_map[f"{a}{b}"] for a, b in zip(r, f, strict=True)]
    return ref.set_index("customer_id")


def month_idx(ts) -> int:
    return ts.year * 12 + ts.month - 1


def reference_kpi(frame, *, as_of, source, horizon) -> dict[int, dict]:
    """Monthly KPI figures by month index, from the definitions in analytics/kpi.py's docstring."""
    tx = select_source(frame, source, as_of).copy()
    if tx.empty:
        return {}
    tx["mi"] = tx["date"].map(month_idx)
    buys = tx[~tx["is_refund"].astype(bool)]
    months_of = {cid: sorted(set(g["mi"])) for cid, g in buys.groupby("customer_id")}
    last = month_idx(as_of)
    out = {}
    for m in range(int(tx["mi"].min()), last + 1):
        in_month = buys[buys["mi"] == m]
        new = reactivated = churned = active = 0
        for months in months_of.values():
            if months[0] == m:
                new += 1
            if m in months and months.index(m) > 0 and m - months[months.index(m) - 1] > horizon:
                reactivated += 1
            for i, p in enumerate(months):
                nxt = months[i + 1] if i + 1 < len(months) else None
                if p + horizon == m and (nxt is None or nxt > p + horizon):
                    churned += 1
            if any(m - horizon < p <= m for p in months):
                active += 1
        customers = in_month["customer_id"].nunique()
        out[m] = {
            "sales": int(in_month["amount"].sum()),
            "refunds": int(tx.loc[(tx["mi"] == m) & tx["is_refund"], "amount"].sum()),
            "transactions": len(in_month[["customer_id", "date"]].drop_duplicates()),
            "customers": customers,
            "new_customers": new,
            "returning_customers": customers - new,
            "reactivated": reactivated,
            "churned": churned,
            "active_base": active,
        }
    return out


def reference_stages(frame, *, as_of, source, repeat_months, loyal, horizon_days):
    """Per customer: number of purchase days, gap first→second, gap second→loyal-th, days since last."""
    tx = select_source(frame, source, as_of)
    buys = tx[~tx["is_refund"].astype(bool)]
    rows = []
    for _cid, g in buys.groupby("customer_id") if len(buys) else []:
        days = sorted(set(g["date"]))
        rows.append(
            {
                "n": len(days),
                "gap1": (days[1] - days[0]).days if len(days) >= 2 else None,
                "gap2": (days[loyal - 1] - days[1]).days if len(days) >= loyal else None,
                "active": (pd.Timestamp(as_of) - days[-1]).days <= horizon_days,
            }
        )
    return pd.DataFrame(rows, columns=["n", "gap1", "gap2", "active"])
