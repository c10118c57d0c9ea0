"""Dashboard forms of interactions and deals."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from interactions.models import DealStage


class DealMoveForm(forms.Form):
    stage = forms.ChoiceField(label=_("stage"), choices=DealStage.choices)
    lost_reason = forms.CharField(label=_("lost reason"), max_length=200, required=False)

    def clean(self):
        data = super().clean()
        if data.get("stage") == DealStage.LOST and not (data.get("lost_reason") or "").strip():
            self.add_error("lost_reason", _("Say why the deal was lost."))
        return data
