"""Dashboard form of the audit trail page: its filters."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.models import AuditAction
from crm.tenancy.selectors import tenant_users


class AuditFilterForm(forms.Form):
    DATE_INPUT = forms.DateInput(attrs={"type": "date"})

    action = forms.ChoiceField(
        label=_("Action"), required=False, choices=[("", _("All actions")), *AuditAction.choices]
    )
    user = forms.ModelChoiceField(label=_("User"), required=False, queryset=None, empty_label=_("Everyone"))
    since = forms.DateField(label=pgettext_lazy("date range", "From"), required=False, widget=DATE_INPUT)
    until = forms.DateField(label=pgettext_lazy("date range", "To"), required=False, widget=DATE_INPUT)

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = tenant_users(tenant=tenant)
