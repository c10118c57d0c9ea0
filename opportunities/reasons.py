"""PLACEHOLDER until the propensity work lands (it owns this module): the reason of a score in plain
words, rendered from its `facts` in the reader's language. Only what the weekly list needs to run."""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext as _


def replacement_reason(facts: dict, *, language: str) -> str:
    with translation.override(language):
        parts = []
        if facts.get("mileage"):
            parts.append(_("%(km)s km") % {"km": f"{int(facts['mileage']):,}"})
        if facts.get("repairs_12m"):
            parts.append(_("repairs ¥%(yen)s in 12 months") % {"yen": f"{int(facts['repairs_12m']):,}"})
        chance = _("%(p)d %% chance to replace within 6 months") % {
            "p": round(float(facts.get("probability", 0)) * 100)
        }
        return ", ".join(parts) + (" → " if parts else "") + chance


def leaving_reason(facts: dict, *, language: str) -> str:
    with translation.override(language):
        if facts.get("overdue_days"):
            return _("%(d)d days overdue against their usual visits") % {"d": int(facts["overdue_days"])}
        return _("Less likely to come back than a month ago")
