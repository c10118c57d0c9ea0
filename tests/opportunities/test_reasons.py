"""The reason text of the weekly list: exact sentences for hand-built facts, in Japanese and English."""

import pytest

from opportunities.reasons import leaving_reason, replacement_reason

THIRD_SHAKEN = {
    "probability": 0.38,
    "next_inspection": "2027-05-20",
    "inspection_number": 3,
    "age_years": 6,
    "mileage": 128000,
    "repairs_12m": 180000,
    "method": "model",
}


def test_replacement_reason_of_the_issue_in_english():
    assert replacement_reason(THIRD_SHAKEN, language="en") == (
        "3rd 車検 in May, 128,000 km, repairs ¥180,000 in 12 months → 38 % chance to replace within 6 months"
    )


def test_replacement_reason_of_the_issue_in_japanese():
    assert replacement_reason(THIRD_SHAKEN, language="ja") == (
        "5月に3回目の車検、走行128,000km、直近12か月の修理費¥180,000 → 6か月以内の代替確率38%"
    )


@pytest.mark.parametrize(
    ("number", "ordinal"), [(1, "1st"), (2, "2nd"), (4, "4th"), (11, "11th"), (12, "12th"), (21, "21st")]
)
def test_english_ordinals(number, ordinal):
    facts = {"probability": 0.1, "next_inspection": "2027-01-10", "inspection_number": number}
    assert replacement_reason(facts, language="en") == (
        f"{ordinal} 車検 in January → 10 % chance to replace within 6 months"
    )


def test_no_inspection_coming_names_the_age_and_leaves_out_what_is_unknown():
    facts = {"probability": 0.124, "age_years": 9.7, "repairs_12m": 0, "method": "rules"}
    assert replacement_reason(facts, language="en") == (
        "9 years old → 12 % chance to replace within 6 months (rule-based estimate)"
    )
    assert replacement_reason(facts, language="ja") == (
        "初度登録から9年 → 6か月以内の代替確率12%（ルールによる目安）"
    )


def test_only_the_probability_and_a_tiny_one():
    assert replacement_reason({"probability": 0.004}, language="en") == (
        "<1 % chance to replace within 6 months"
    )
    assert replacement_reason({"probability": 0.995}, language="ja") == "6か月以内の代替確率100%"


def test_leaving_reason_overdue_with_a_falling_p_alive():
    facts = {
        "usual_interval_days": 120,
        "days_since_visit": 210,
        "overdue_days": 90,
        "p_alive": 0.55,
        "p_alive_month_ago": 0.8,
        "value_12m": 240000,
    }
    assert leaving_reason(facts, language="en") == (
        "usually every 120 days, last visit 210 days ago (90 days overdue), "
        "chance still active 80 % → 55 % since last month, ¥240,000 expected in 12 months"
    )
    assert leaving_reason(facts, language="ja") == (
        "通常120日ごとに来店、最終来店から210日（90日超過）、継続確率が先月の80%から55%に低下、"
        "今後12か月の見込み¥240,000"
    )


def test_leaving_reason_small_drop_and_no_rhythm():
    facts = {"days_since_visit": 400, "p_alive": 0.42, "p_alive_month_ago": 0.45, "value_12m": 0}
    assert leaving_reason(facts, language="en") == "last visit 400 days ago, chance still active 42 %"
    assert leaving_reason(facts, language="ja") == "最終来店から400日、継続確率42%"


def test_leaving_reason_on_time():
    facts = {"usual_interval_days": 90, "days_since_visit": 60, "overdue_days": -30, "p_alive": 0.9}
    assert leaving_reason(facts, language="en") == (
        "usually every 90 days, last visit 60 days ago, chance still active 90 %"
    )
