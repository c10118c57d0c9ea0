"""The transparent score for shops with too little history to learn from (< 30 replacements).

A base chance plus a fixed number of points per rule met, so a member can check any score by hand:

* old car at its 車検: at least 7 years old and a 車検 due within 6 months   +15 points
* high mileage: at least 100,000 km                                         +10 points
* repairs rising: more repair spend in the last 12 months than the 12 before +10 points

The points are a judgement, not a fit (that is the point of the fallback); the page says the method.
"""

from __future__ import annotations

import numpy as np

from opportunities.features import Cut

BASE = 0.05
OLD_AT_INSPECTION = ("old_at_inspection", 0.15)
HIGH_MILEAGE = ("high_mileage", 0.10)
REPAIRS_RISING = ("repairs_rising", 0.10)
OLD_YEARS, HIGH_KM = 7, 100_000


def rule_hits(cut: Cut) -> dict[str, np.ndarray]:
    """Which rule each vehicle of the cut meets (boolean arrays by rule code)."""
    mileage = np.nan_to_num(cut.mileage, nan=0.0)
    return {
        OLD_AT_INSPECTION[0]: (cut.age_years >= OLD_YEARS) & (cut.inspection_within_6m > 0),
        HIGH_MILEAGE[0]: mileage >= HIGH_KM,
        REPAIRS_RISING[0]: (cut.repairs_12m > cut.repairs_prev_12m) & (cut.repairs_12m > 0),
    }


def rule_scores(cut: Cut) -> np.ndarray:
    hits = rule_hits(cut)
    score = np.full(len(cut.rows), BASE)
    for code, points in (OLD_AT_INSPECTION, HIGH_MILEAGE, REPAIRS_RISING):
        score = score + points * hits[code]
    return score
