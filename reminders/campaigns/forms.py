"""The campaign form (message, channels, holdout, schedule and the audience builder) and the settings."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from channels.models import MessageChannel
from customers.segments import segment_choices
from reminders.campaigns.audience import MAX_MONTHS_AHEAD, audience_clean
from reminders.models import Campaign, CampaignSettings, ReminderTemplate


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    template = forms.ModelChoiceField(
        label=_("E-mail template"), queryset=ReminderTemplate.objects.none(), help_text=_("The message sent.")
    )
    scheduled_for = forms.DateTimeField(
        label=_("Send at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Sent from this time on, inside the shop's send window."),
    )
    allowed_channels = forms.MultipleChoiceField(
        label=_("Channels"),
        choices=MessageChannel.choices,
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 4}),
        help_text=_("None chosen = every channel the customer can receive, in the shop's order."),
    )
    holdout_percent = forms.IntegerField(
        label=_("Holdout (%)"),
        min_value=0,
        max_value=50,
        initial=10,
        help_text=_(
            "This share of the audience is sent nothing (control group), so the results show what the "
            "campaign changed. 10 % is a good start; 0 = no control group."
        ),
    )
    attribution_days = forms.IntegerField(
        label=_("Attribution window (days)"),
        min_value=1,
        max_value=365,
        initial=60,
        help_text=_("A service or purchase within this many days after sending counts as a visit."),
    )
    # The audience builder
    segment = forms.ChoiceField(label=_("Segment"), required=False)
    tags = forms.CharField(
        label=_("Tags"), required=False, help_text=_("Comma-separated; customers with any of these tags.")
    )
    inspection_from = forms.IntegerField(
        label=_("車検 from (months ahead)"), required=False, min_value=0, max_value=MAX_MONTHS_AHEAD
    )
    inspection_to = forms.IntegerField(
        label=_("車検 to (months ahead)"),
        required=False,
        min_value=0,
        max_value=MAX_MONTHS_AHEAD,
        help_text=_("E.g. 2 and 4: a vehicle whose 車検 expires 2–4 months after the send date."),
    )
    last_visit_before = forms.DateField(
        label=_("Last visit before"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Customers who came (service or purchase) before this date, but not since."),
    )

    def __init__(self, *args, tenant, campaign: Campaign | None = None, **kwargs):
        if campaign is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_for(campaign)
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        self.fields["template"].queryset = ReminderTemplate.objects.for_tenant(tenant)
        self.fields["segment"].choices = [("", _("Any segment")), *segment_choices()]

    @staticmethod
    def initial_for(campaign: Campaign) -> dict:
        audience = campaign.audience or {}
        months = audience.get("inspection_in_months") or [None, None]
        return {
            "name": campaign.name,
            "template": campaign.rule.template_id,
            "scheduled_for": campaign.scheduled_for,
            "allowed_channels": [c for c in campaign.rule.allowed_channels.split(",") if c],
            "holdout_percent": campaign.rule.holdout_percent,
            "attribution_days": campaign.rule.attribution_days,
            "segment": audience.get("segment", ""),
            "tags": ", ".join(audience.get("tags", [])),
            "inspection_from": months[0],
            "inspection_to": months[1],
            "last_visit_before": audience.get("last_visit_before"),
        }

    def clean(self):
        data = super().clean()
        start, end = data.get("inspection_from"), data.get("inspection_to")
        if (start is None) != (end is None):
            self.add_error("inspection_to", _("Give both months, or neither."))
            return data
        audience = {
            "segment": data.get("segment") or "",
            "tags": [t.strip() for t in (data.get("tags") or "").split(",") if t.strip()],
            "inspection_in_months": [start, end] if start is not None else None,
            "last_visit_before": data["last_visit_before"].isoformat()
            if data.get("last_visit_before")
            else None,
        }
        try:
            data["audience"] = audience_clean(tenant=self.tenant, data=audience)
        except ValidationError as exc:
            self.add_error(None, exc)
        return data

    def data_for_service(self) -> dict:
        d = self.cleaned_data
        return {
            "name": d["name"],
            "template": d["template"],
            "scheduled_for": d["scheduled_for"],
            "allowed_channels": ",".join(d["allowed_channels"]),
            "holdout_percent": d["holdout_percent"],
            "attribution_days": d["attribution_days"],
            "audience": d["audience"],
        }


class CampaignSettingsForm(forms.ModelForm):
    class Meta:
        model = CampaignSettings
        fields = ["approval_threshold"]
