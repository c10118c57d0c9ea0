"""Dashboard forms of the tenancy core: the shop's settings and its members."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.models import Tenant, User
from crm.tenancy.roles import Role
from crm.tenancy.selectors import tenant_workers

TENANT_PROFILE_FIELDS = [
    "name",
    "sender_name",
    "sender_email",
    "phone",
    "address",
    "send_window_start",
    "send_window_end",
    "churn_horizon_months",
    "six_month_check_enabled",
    "require_two_factor",
]
TIME_INPUT = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class TenantProfileForm(forms.ModelForm):
    class Meta:
        model = Tenant
        fields = TENANT_PROFILE_FIELDS
        widgets = {"send_window_start": TIME_INPUT, "send_window_end": TIME_INPUT}
        help_texts = {
            "sender_email": _("Reminder e-mails are sent from this address."),
            "send_window_start": _("Reminders are only sent between these times (shop time zone)."),
            "churn_horizon_months": _(
                "A customer without a purchase or service for this long counts as churned."
            ),
        }

    def clean(self):
        data = super().clean()
        start, end = data.get("send_window_start"), data.get("send_window_end")
        if start and end and start >= end:
            self.add_error("send_window_end", _("The window must end after it starts."))
        return data


class MemberAddForm(forms.Form):
    email = forms.EmailField(label=_("e-mail address"))
    role = forms.ChoiceField(label=_("role"), choices=Role.choices, initial=Role.STAFF)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(label=_("role"), choices=Role.choices)


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.label} <{obj.email}>" if obj.label != obj.email else obj.email


class MemberRemoveForm(forms.Form):
    """Confirm a member's removal; the successor field exists only while they still hold work here."""

    successor = UserChoiceField(label=_("Hand over to"), queryset=None)
    confirm = forms.BooleanField(
        label=_("I understand this person loses access to this shop now."),
    )

    def __init__(self, *args, tenant: Tenant, leaving: User, needs_successor: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if needs_successor:
            self.fields["successor"].queryset = tenant_workers(tenant=tenant).exclude(pk=leaving.pk)
        else:
            del self.fields["successor"]
