"""The statistics of results, against published figures and planted effects in simulated data."""

import numpy as np
import pytest
from django.utils import translation
from scipy import stats as scipy_stats

from results.stats import (
    Group,
    plain_words,
    plain_words_all,
    rate_difference,
    revenue_difference,
    sample_size_per_group,
    uplift,
    wilson,
)


def test_wilson_matches_newcombe_1998_table():
    # Newcombe (1998), Statistics in Medicine 17:857, table II: 81/263 → 0.2553 to 0.3662.
    low, high = wilson(81, 263)
    assert round(low, 4) == 0.2553
    assert round(high, 4) == 0.3662


def test_rate_difference_matches_newcombe_1998_example():
    # Newcombe (1998), Statistics in Medicine 17:873, example (a): 56/70 vs 48/80, method 10:
    # difference 0.2000, interval 0.0524 to 0.3339.
    result = rate_difference(Group(70, 56), Group(80, 48))
    assert round(result.estimate, 4) == 0.2
    assert round(result.low, 4) == 0.0524
    assert round(result.high, 4) == 0.3339


def test_revenue_difference_is_welch_interval():
    rng = np.random.default_rng(7)
    a = rng.gamma(2.0, 10_000, size=300).round()
    b = rng.gamma(2.0, 8_000, size=40).round()
    result = revenue_difference(
        Group(len(a), 0, float(a.sum()), float((a * a).sum())),
        Group(len(b), 0, float(b.sum()), float((b * b).sum())),
    )
    # scipy's own Welch test on the raw values (not our sums of squares) gives the same interval.
    expected = scipy_stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert result.estimate == pytest.approx(a.mean() - b.mean(), rel=1e-9)
    assert result.low == pytest.approx(expected.low, rel=1e-6)
    assert result.high == pytest.approx(expected.high, rel=1e-6)


def test_sample_size_textbook_value():
    # 30 % vs 40 %, two-sided α 0.05, power 0.8, no continuity correction: 356 per group (Fleiss).
    assert sample_size_per_group(0.40, 0.30) == 356
    assert sample_size_per_group(0.30, 0.30) is None


def _simulate(seed, n, held_share, p_held, effect):
    rng = np.random.default_rng(seed)
    held = rng.random(n) < held_share
    p = np.where(held, p_held, p_held + effect)
    visited = rng.random(n) < p
    revenue = np.where(visited, rng.gamma(2.0, 20_000, size=n).round(), 0.0)

    def group(mask):
        r = revenue[mask]
        return Group(int(mask.sum()), int(visited[mask].sum()), float(r.sum()), float((r * r).sum()))

    return group(~held), group(held)


def test_planted_ten_point_effect_in_20000_customers_is_recovered():
    treated, held = _simulate(seed=2026, n=20_000, held_share=0.10, p_held=0.30, effect=0.10)
    assert 1800 < held.customers < 2200  # about a tenth held out
    result = uplift(treated, held)
    assert result.rate.low <= 0.10 <= result.rate.high  # the interval covers the planted +10 points
    assert result.rate.low > 0  # and excludes no effect
    assert result.rate.half_width < 0.03
    assert result.revenue.low > 0  # more visits, more revenue per customer


def test_no_effect_interval_covers_zero():
    treated, held = _simulate(seed=2026, n=20_000, held_share=0.10, p_held=0.30, effect=0.0)
    result = uplift(treated, held)
    assert result.rate.low <= 0 <= result.rate.high
    assert result.revenue.low <= 0 <= result.revenue.high


def test_interval_coverage_is_about_95_percent():
    # 400 simulated shops of 2,000 customers with a planted +5 points: the 95 % interval should
    # cover +5 in about 95 % of them (binomial 400 × 0.95 = 380 ± 9 at two standard errors).
    covered = 0
    for seed in range(400):
        treated, held = _simulate(seed=seed, n=2_000, held_share=0.2, p_held=0.25, effect=0.05)
        r = rate_difference(treated, held)
        covered += r.low <= 0.05 <= r.high
    assert 366 <= covered <= 394


def test_plain_words_in_both_languages():
    result = uplift(Group(1000, 420), Group(1000, 300))
    with translation.override("en"):
        assert plain_words(result) == (
            "Reminders brought back about 12 more customers per 100, give or take 4."
        )
    words = plain_words_all(result)
    assert words["ja"] == "リマインドで100人あたり約12人多く来店しました（±4人）。"


def test_plain_words_unclear_and_no_control_group():
    unclear = uplift(Group(200, 66), Group(50, 15))
    with translation.override("en"):
        text = plain_words(unclear)
    assert text.startswith("Reminders brought back about 3 more customers per 100, give or take 14.")
    assert "This could still be chance" in text
    assert "About 3,763 customers in each group would show it reliably." in text
    none = uplift(Group(500, 100), Group(0, 0))
    assert not none.measurable
    words = plain_words_all(none)
    assert words["en"] == "No control group: the effect cannot be measured."
    assert words["ja"] == "対照群がないため、効果は測定できません。"


def test_plain_words_japanese_sentences_join_without_spaces():
    words = plain_words_all(uplift(Group(200, 66), Group(50, 15)))
    assert words["ja"] == (
        "リマインドで100人あたり約3人多く来店しました（±14人）。"
        "まだ偶然の可能性があり、差ははっきりしていません。確かめるには各グループ約3,763人が必要です。"
    )
