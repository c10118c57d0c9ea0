from django import forms
from django.utils.translation import gettext_lazy as _

from opportunities.models import DismissReason
from reminders.models import ReminderTemplate


class DismissForm(forms.Form):
    reason = forms.ChoiceField(label=_("Why"), choices=DismissReason.choices)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class WorklistSettingsForm(forms.Form):
    per_staff = forms.IntegerField(label=_("Customers per staff member"), min_value=1, max_value=100)
    dismiss_days = forms.IntegerField(label=_("A dismissal holds for (days)"), min_value=1, max_value=730)
    message_template = forms.ModelChoiceField(
        label=_("Message template"),
        queryset=ReminderTemplate.objects.none(),
        required=False,
        empty_label=_("Default (担当者からのご案内)"),
    )

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["message_template"].queryset = ReminderTemplate.objects.for_tenant(tenant).order_by(
            "name", "language"
        )
