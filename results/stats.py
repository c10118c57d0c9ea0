"""Treated versus held out: the difference in visit rate and in revenue per customer, with 95 % intervals,
the sample size needed, and the result in plain words. Pure functions of the group totals.

* Visit rate: Newcombe's hybrid score interval for a difference of two proportions (his method 10:
  Wilson intervals of each rate combined), which stays inside [−1, 1] and behaves at small counts
  where the Wald interval does not (Newcombe 1998, Statistics in Medicine 17:873).
* Revenue per customer: Welch's t interval from each group's sum and sum of squares.
* Sample size: customers per group for a two-sided test at α with the given power to detect the
  observed difference of rates (normal approximation, no continuity correction; Fleiss).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

from django.utils import translation
from django.utils.translation import gettext as _
from scipy import stats as scipy_stats

CONFIDENCE = 0.95
POWER = 0.80


@dataclass(frozen=True)
class Group:
    customers: int
    visited: int
    revenue: float = 0.0
    revenue_sq: float = 0.0

    @property
    def rate(self) -> float | None:
        return self.visited / self.customers if self.customers else None

    @property
    def revenue_mean(self) -> float | None:
        return self.revenue / self.customers if self.customers else None

    def revenue_var(self) -> float | None:
        """Sample variance of revenue per customer (n − 1 in the denominator)."""
        n = self.customers
        if n < 2:
            return None
        return max((self.revenue_sq - self.revenue * self.revenue / n) / (n - 1), 0.0)


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def _z(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson(x: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson score interval of one proportion x / n."""
    z = _z(confidence)
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def rate_difference(treated: Group, held: Group, confidence: float = CONFIDENCE) -> Interval | None:
    """Newcombe's hybrid score interval of treated rate − held-out rate (None without both groups)."""
    if not treated.customers or not held.customers:
        return None
    p1, p0 = treated.visited / treated.customers, held.visited / held.customers
    l1, u1 = wilson(treated.visited, treated.customers, confidence)
    l0, u0 = wilson(held.visited, held.customers, confidence)
    diff = p1 - p0
    low = diff - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
    high = diff + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    return Interval(diff, low, high)


def revenue_difference(treated: Group, held: Group, confidence: float = CONFIDENCE) -> Interval | None:
    """Welch's interval of mean revenue per customer, treated − held out (None below two per group)."""
    v1, v0 = treated.revenue_var(), held.revenue_var()
    if v1 is None or v0 is None:
        return None
    n1, n0 = treated.customers, held.customers
    diff = treated.revenue / n1 - held.revenue / n0
    s1, s0 = v1 / n1, v0 / n0
    se = math.sqrt(s1 + s0)
    if se == 0:
        return Interval(diff, diff, diff)
    df = (s1 + s0) ** 2 / ((s1 * s1) / (n1 - 1) + (s0 * s0) / (n0 - 1))
    t = float(scipy_stats.t.ppf(0.5 + confidence / 2, df))
    return Interval(diff, diff - t * se, diff + t * se)


def sample_size_per_group(
    p1: float, p0: float, *, alpha: float = 1 - CONFIDENCE, power: float = POWER
) -> int | None:
    """Customers needed in each group to detect p1 vs p0 (two-sided α, power); None when p1 == p0."""
    if p1 == p0 or not (0 <= p1 <= 1 and 0 <= p0 <= 1):
        return None
    z_a, z_b = NormalDist().inv_cdf(1 - alpha / 2), NormalDist().inv_cdf(power)
    p_bar = (p1 + p0) / 2
    top = z_a * math.sqrt(2 * p_bar * (1 - p_bar)) + z_b * math.sqrt(p1 * (1 - p1) + p0 * (1 - p0))
    return math.ceil(top * top / (p1 - p0) ** 2)


@dataclass(frozen=True)
class Uplift:
    treated: Group
    held: Group
    rate: Interval | None
    revenue: Interval | None
    needed_per_group: int | None

    @property
    def measurable(self) -> bool:
        return self.rate is not None

    @property
    def enough_customers(self) -> bool:
        return bool(
            self.needed_per_group is not None
            and min(self.treated.customers, self.held.customers) >= self.needed_per_group
        )


def uplift(treated: Group, held: Group) -> Uplift:
    """Everything the Results page and the API report about one rule's (or campaign's) effect."""
    rate = rate_difference(treated, held)
    needed = None
    if rate is not None:
        needed = sample_size_per_group(treated.rate, held.rate)
    return Uplift(treated, held, rate, revenue_difference(treated, held), needed)


def plain_words(result: Uplift) -> str:
    """The effect in one or two sentences for a shop owner, in the active language."""
    if not result.measurable:
        return _("No control group: the effect cannot be measured.")
    points = round(result.rate.estimate * 100)
    margin = max(round(result.rate.half_width * 100), 1) if result.rate.half_width > 0 else 0
    if points > 0:
        text = _("Reminders brought back about %(n)s more customers per 100, give or take %(m)s.") % {
            "n": points,
            "m": margin,
        }
    elif points < 0:
        text = _(
            "Customers who got reminders came back less often: about %(n)s fewer per 100, give or take %(m)s."
        ) % {"n": -points, "m": margin}
    else:
        text = _(
            "Reminded and held-out customers came back about equally often (give or take %(m)s per 100)."
        ) % {"m": margin}
    if not result.rate.excludes_zero:
        sep = "" if (translation.get_language() or "").startswith("ja") else " "  # no spaces in Japanese
        text += sep + _("This could still be chance: the difference is not clear yet.")
        if result.needed_per_group is not None:
            text += sep + _("About %(n)s customers in each group would show it reliably.") % {
                "n": f"{result.needed_per_group:,}"
            }
    return text


def plain_words_all(result: Uplift) -> dict[str, str]:
    """The sentence in Japanese and English (the API returns both)."""
    out = {}
    for language in ("ja", "en"):
        with translation.override(language):
            out[language] = plain_words(result)
    return out
