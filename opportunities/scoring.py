"""Writing a shop's replacement scores: every owned vehicle's P(replace within 6 months) and its facts.

The features come set-based from `opportunities.features` (cut 0: now); probabilities are one vectorised
prediction; the rows are replaced in one statement pair (delete + COPY/bulk insert) inside the caller's
transaction, so the weekly list never sees half a refresh.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import numpy as np
from django.db.models import Avg
from django.utils import timezone

from crm.db.bulk import bulk_insert
from customers.models import Purchase
from opportunities import model
from opportunities.features import VEHICLE_SALE_CODES, History, cut_features
from opportunities.models import ScoreMethod, VehicleReplacementScore
from opportunities.rules import rule_hits, rule_scores

# A shop that has sold no vehicle (a garage referring sales) values a replacement at this much.
DEFAULT_MARGIN = 200_000
MARGIN_LOOKBACK_DAYS = 3 * 365
# The reason names the coming 車検 when it falls within this many days.
INSPECTION_HORIZON_DAYS = 366
SCORE_COLUMNS = [
    "tenant_id",
    "vehicle_id",
    "customer_id",
    "probability",
    "expected_margin",
    "expected_value",
    "method",
    "facts",
    "scored_at",
]


def vehicle_sale_margin(*, tenant, as_of: date, override: int | None) -> int:
    """Gross profit of one vehicle sale: the shop's setting, else its average of the last 3 years."""
    if override:
        return int(override)
    average = (
        Purchase.objects.for_tenant(tenant)
        .filter(
            category__code__in=VEHICLE_SALE_CODES,
            is_refund=False,
            date__gt=as_of - timedelta(days=MARGIN_LOOKBACK_DAYS),
            date__lte=as_of,
        )
        .aggregate(avg=Avg("gross_profit"))["avg"]
    )
    return round(average) if average and average > 0 else DEFAULT_MARGIN


def _inspection(h: History, rows: np.ndarray, as_of: date) -> tuple[list, list]:
    """The coming recorded 車検 (ISO date, within the horizon) and its ordinal (3 = the third)."""
    ahead = -h.expiry_db[rows]  # days from as_of to the recorded expiry
    soon = ~np.isnan(ahead) & (ahead >= 0) & (ahead <= INSPECTION_HORIZON_DAYS)
    months_at = (h.reg_db[rows] + np.nan_to_num(ahead)) / (365.25 / 12)
    number = np.where(months_at >= 30, 1 + np.round((months_at - 36) / 24), 0).astype(int)
    known = soon & h.reg_known[rows] & (number >= 1)
    days = np.nan_to_num(ahead).astype(int).tolist()
    dates = [(as_of + timedelta(days=d)).isoformat() if s else None for d, s in zip(days, soon, strict=True)]
    return dates, [int(n) if k else None for n, k in zip(number, known, strict=True)]


def score_rows(*, h: History, method: str, params: dict, margin: int, scored_at) -> list[tuple]:
    """The score rows of every vehicle at risk now, ready for `bulk_insert(SCORE_COLUMNS)`."""
    cut = cut_features(h, 0)
    if method == ScoreMethod.MODEL:
        probability = model.predict(params, cut.X)
        hits = {}
    else:
        probability = rule_scores(cut)
        hits = rule_hits(cut)
    probability = np.clip(probability, 0.0, 1.0)
    next_dates, numbers = _inspection(h, cut.rows, h.as_of)
    mileage = np.where(np.isnan(cut.mileage), -1, np.round(cut.mileage / 1000) * 1000).astype(int).tolist()
    repairs = cut.repairs_12m.astype(int).tolist()
    ages = np.floor(cut.age_years).astype(int).tolist()
    hit_lists = (
        [[code for code, mask in hits.items() if mask[i]] for i in range(len(cut.rows))] if hits else None
    )
    rows = []
    columns = zip(
        h.vehicle_id[cut.rows].tolist(),
        h.customer_id[cut.rows].tolist(),
        probability.tolist(),
        next_dates,
        numbers,
        mileage,
        repairs,
        ages,
        strict=True,
    )
    for i, (vehicle, customer, p, next_date, number, km, repair, age) in enumerate(columns):
        facts = {"probability": round(p, 4), "method": method, "age_years": age, "repairs_12m": repair}
        if next_date and number:
            facts["next_inspection"], facts["inspection_number"] = next_date, number
        if km >= 0:
            facts["mileage"] = km
        if hit_lists is not None:
            facts["rules"] = hit_lists[i]
        rows.append(
            (
                h.tenant_id,
                vehicle,
                customer,
                p,
                margin,
                round(p * margin),
                method,
                json.dumps(facts),
                scored_at,
            )
        )  # one output row per vehicle: the write itself, not the feature extraction
    return rows


def replacement_scores_write(*, tenant, h: History, method: str, params: dict, margin: int) -> int:
    """Replace the shop's replacement scores with those of `h` (call inside a transaction)."""
    if h.tenant_id != tenant.pk:
        raise ValueError("the history belongs to another shop")
    rows = score_rows(h=h, method=method, params=params, margin=margin, scored_at=timezone.now())
    VehicleReplacementScore.objects.for_tenant(tenant).delete()
    return bulk_insert(VehicleReplacementScore, SCORE_COLUMNS, rows)
