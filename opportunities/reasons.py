"""The reason beside each entry of the weekly list, in plain words, rendered in the reader's language.

The scoring job stores only facts (numbers and ISO dates, see `opportunities.scoring`); the words are
made here when a page or message is rendered, so the same score reads in Japanese for one member and in
English for another. The facts keys:

replacement (VehicleReplacementScore.facts):
    probability        float 0..1, the score itself
    next_inspection    "YYYY-MM-DD" of the coming 車検 when it falls within 12 months, else absent/None
    inspection_number  the ordinal of that 車検 (3 for the third: at 7 years for a car bought new)
    age_years          whole years since first registration (shown when no 車検 is coming)
    mileage            estimated km now, rounded to 1,000 (absent when the shop never recorded one)
    repairs_12m        repair and bodywork spend of the last 12 months (JPY)
    method             "model" or "rules"

leaving (CustomerLeavingRisk.facts):
    usual_interval_days  the median days between the customer's visits (absent: no rhythm yet)
    days_since_visit     days since the last visit
    overdue_days         days past the usual interval (absent or <= 0: not overdue)
    p_alive, p_alive_month_ago   float 0..1 (either may be absent)
    value_12m            predicted value of the next 12 months (JPY), or the yearly value to date
"""

from __future__ import annotations

from datetime import date

from django.utils import translation
from django.utils.dates import MONTHS
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

OVERDUE_TEXT = gettext_noop(
    "usually every %(interval)s days, last visit %(since)s days ago (%(overdue)s days overdue)"
)
# A P(alive) fall smaller than this is noise, not news.
NOTABLE_DROP = 0.05


def _percent(value: float) -> str:
    points = value * 100
    return "<1" if 0 < points < 0.5 else str(int(points + 0.5))


def _yen(value) -> str:
    return f"¥{int(value):,}"


def _ordinal(number: int, language: str) -> str:
    if language.startswith("ja"):
        return f"{number}回目"
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def _join(parts: list[str]) -> str:
    return _(", ").join(parts)


def replacement_reason(facts: dict, *, language: str) -> str:
    """E.g. "3rd 車検 in May, 128,000 km, repairs ¥180,000 in 12 months → 38 % chance to replace within
    6 months"; in Japanese "5月に3回目の車検、走行128,000km、直近12か月の修理費¥180,000 →
    6か月以内の代替確率38%"."""
    with translation.override(language):
        parts = []
        if facts.get("next_inspection") and facts.get("inspection_number"):
            month = MONTHS[date.fromisoformat(facts["next_inspection"]).month]
            parts.append(
                _("%(ordinal)s 車検 in %(month)s")
                % {"ordinal": _ordinal(int(facts["inspection_number"]), language), "month": month}
            )
        elif facts.get("age_years") is not None:
            parts.append(_("%(years)s years old") % {"years": int(facts["age_years"])})
        if facts.get("mileage") is not None:
            parts.append(_("%(km)s km") % {"km": f"{int(facts['mileage']):,}"})
        if facts.get("repairs_12m"):
            parts.append(_("repairs %(amount)s in 12 months") % {"amount": _yen(facts["repairs_12m"])})
        outcome = _("%(percent)s %% chance to replace within 6 months") % {
            "percent": _percent(float(facts.get("probability") or 0.0))
        }
        text = f"{_join(parts)} → {outcome}" if parts else outcome
        if facts.get("method") == "rules":
            text += _(" (rule-based estimate)")
        return text


def leaving_reason(facts: dict, *, language: str) -> str:
    """E.g. "usually every 120 days, last visit 210 days ago (90 days overdue), chance still active 80 % →
    55 % since last month, ¥240,000 expected in 12 months"."""
    with translation.override(language):
        parts = []
        interval, since = facts.get("usual_interval_days"), facts.get("days_since_visit")
        if interval and since is not None:
            overdue = facts.get("overdue_days") or 0
            if overdue > 0:
                parts.append(
                    _(OVERDUE_TEXT)
                    % {"interval": int(interval), "since": int(since), "overdue": int(overdue)}
                )
            else:
                parts.append(
                    _("usually every %(interval)s days, last visit %(since)s days ago")
                    % {"interval": int(interval), "since": int(since)}
                )
        elif since is not None:
            parts.append(_("last visit %(since)s days ago") % {"since": int(since)})
        now, before = facts.get("p_alive"), facts.get("p_alive_month_ago")
        if now is not None and before is not None and before - now >= NOTABLE_DROP:
            parts.append(
                _("chance still active %(before)s %% → %(now)s %% since last month")
                % {"before": _percent(before), "now": _percent(now)}
            )
        elif now is not None:
            parts.append(_("chance still active %(now)s %%") % {"now": _percent(now)})
        if facts.get("value_12m"):
            parts.append(_("%(amount)s expected in 12 months") % {"amount": _yen(facts["value_12m"])})
        return _join(parts)
