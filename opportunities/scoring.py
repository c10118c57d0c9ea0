# ruff: noqa: S608 -- SQL text is built from model _meta names and constants; every value is bound.
"""Writing a shop's replacement scores: every owned vehicle's P(replace within 6 months) and its facts.

The features come set-based from `opportunities.features` (cut 0: now); probabilities are one vectorised
prediction; the rows are written in place (staged by COPY, then one UPDATE, INSERT and DELETE) inside the
caller's transaction, so the weekly list never sees half a refresh.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import numpy as np
from django.db import connection
from django.db.models import Avg
from django.utils import timezone

from analytics.sql import execute
from crm.db.bulk import stage_columns
from customers.models import Purchase
from opportunities import model
from opportunities.features import VEHICLE_SALE_CODES, History, cut_features, refresh_settings
from opportunities.models import ScoreMethod, VehicleReplacementScore
from opportunities.rules import rule_hits, rule_scores

STAGED_SCORES = "_new_replacement_scores"
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


def _inspection(h: History, rows: np.ndarray, as_of: date) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The coming recorded 車検 within the horizon: whether its date and ordinal (3 = the third) are
    known, its ISO date and the ordinal (read only where known)."""
    ahead = -h.expiry_db[rows]  # days from as_of to the recorded expiry
    soon = ~np.isnan(ahead) & (ahead >= 0) & (ahead <= INSPECTION_HORIZON_DAYS)
    months_at = (h.reg_db[rows] + np.nan_to_num(ahead)) / (365.25 / 12)
    number = np.where(months_at >= 30, 1 + np.round((months_at - 36) / 24), 0).astype(int)
    known = soon & h.reg_known[rows] & (number >= 1)
    days = np.where(soon, np.nan_to_num(ahead), 0).astype(int)
    return known, (np.datetime64(as_of, "D") + days).astype(str), number


def _rule_texts(hits: dict[str, np.ndarray], n: int) -> list[str] | None:
    """Each vehicle's rules met, as JSON lists in the rules' order (one text per combination)."""
    if not hits:
        return None
    codes = list(hits)
    combination = np.zeros(n, dtype=int)
    for bit, code in enumerate(codes):
        combination |= hits[code].astype(int) << bit
    texts = [json.dumps([c for b, c in enumerate(codes) if k >> b & 1]) for k in range(2 ** len(codes))]
    return [texts[k] for k in combination.tolist()]


def score_columns(*, h: History, method: str, params: dict, margin: int) -> dict[str, list]:
    """The per-vehicle columns of the scores of every vehicle at risk now (`stage_columns` input);
    the margin, method and time are the same for every row and written as constants."""
    cut = cut_features(h, 0)
    if method == ScoreMethod.MODEL:
        probability = model.predict(params, cut.X)
        hits = {}
    else:
        probability = rule_scores(cut)
        hits = rule_hits(cut)
    probability = np.clip(probability, 0.0, 1.0).tolist()
    known, next_dates, numbers = _inspection(h, cut.rows, h.as_of)
    mileage = np.where(np.isnan(cut.mileage), -1, np.round(cut.mileage / 1000) * 1000).astype(int).tolist()
    repairs = cut.repairs_12m.astype(int).tolist()
    ages = np.floor(cut.age_years).astype(int).tolist()
    rules = _rule_texts(hits, len(cut.rows)) or [None] * len(cut.rows)
    method_json = json.dumps(method)
    # The facts' JSON written directly: json.dumps of the dict {probability, method, age_years,
    # repairs_12m[, next_inspection, inspection_number][, mileage][, rules]} gives this text (floats
    # and ints print the same way), at a fraction of the cost for 100,000 rows.
    facts = []
    inspections = zip(known.tolist(), next_dates.tolist(), numbers.tolist(), strict=True)
    columns = zip(probability, ages, repairs, inspections, mileage, rules, strict=True)
    for p, age, repair, (inspection, next_date, number), km, rule in columns:
        text = f'{{"probability": {round(p, 4)!r}, "method": {method_json}, "age_years": {age}'
        text += f', "repairs_12m": {repair}'
        if inspection:
            text += f', "next_inspection": "{next_date}", "inspection_number": {number}'
        if km >= 0:
            text += f', "mileage": {km}'
        if rule is not None:
            text += f', "rules": {rule}'
        facts.append(text + "}")  # one text per vehicle: the output itself, not the feature extraction
    return {
        "vehicle_id": h.vehicle_id[cut.rows].tolist(),
        "customer_id": h.customer_id[cut.rows].tolist(),
        "probability": probability,
        "expected_value": [round(p * margin) for p in probability],
        "facts": facts,
    }


def replacement_scores_write(*, tenant, h: History, method: str, params: dict, margin: int) -> int:
    """Make the shop's replacement scores those of `h` (call inside a transaction); returns the count.

    The new rows are staged in a temporary table, then written in place: every scored vehicle's row
    updated, new vehicles inserted, rows of vehicles no longer at risk (sold, replaced) deleted. An
    update that keeps the vehicle, customer and tenant spares PostgreSQL the three foreign-key checks
    per row that a delete + insert of every row costs at commit.
    """
    if h.tenant_id != tenant.pk:
        raise ValueError("the history belongs to another shop")
    columns = score_columns(h=h, method=method, params=params, margin=margin)
    count = stage_columns(STAGED_SCORES, VehicleReplacementScore, columns)
    table = VehicleReplacementScore._meta.db_table
    constants = [margin, method, connection.ops.adapt_datetimefield_value(timezone.now())]
    with refresh_settings():  # hash joins whatever the (often stale) statistics of the scores say
        execute(
            f"DELETE FROM {table} WHERE tenant_id = %s AND NOT EXISTS "
            f"(SELECT 1 FROM {STAGED_SCORES} n WHERE n.vehicle_id = {table}.vehicle_id)",
            [tenant.pk],
        )
        updated = execute(
            f"UPDATE {table} SET customer_id = n.customer_id, probability = n.probability,"
            f" expected_margin = %s, expected_value = n.expected_value, method = %s, facts = n.facts,"
            f" scored_at = %s FROM {STAGED_SCORES} n"
            f" WHERE {table}.tenant_id = %s AND {table}.vehicle_id = n.vehicle_id",
            [*constants, tenant.pk],
        )
        if updated < count:  # else every staged vehicle had its row: nothing to insert
            execute(
                f"INSERT INTO {table} ({', '.join(SCORE_COLUMNS)})"
                f" SELECT %s, n.vehicle_id, n.customer_id, n.probability, %s, n.expected_value, %s, n.facts,"
                f" %s FROM {STAGED_SCORES} n WHERE NOT EXISTS"
                f" (SELECT 1 FROM {table} s WHERE s.tenant_id = %s AND s.vehicle_id = n.vehicle_id)",
                [tenant.pk, *constants, tenant.pk],
            )
        execute(f"DROP TABLE {STAGED_SCORES}", [])
    return count
