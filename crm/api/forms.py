"""Dashboard form of the API: a new API key."""

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.models import ApiKeyScope


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label=_("name"), max_length=100, help_text=_("What the key is for, e.g. “Till export”.")
    )
    scope = forms.ChoiceField(label=_("scope"), choices=ApiKeyScope.choices)
