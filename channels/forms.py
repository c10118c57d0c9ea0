from django import forms
from django.utils.translation import gettext_lazy as _

from channels.models import ConsentStatus, validate_channel_order


class ChannelOrderField(forms.CharField):
    """A comma-separated channel order ("line,email,sms")."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 60)
        kwargs.setdefault(
            "help_text",
            _("Channels best first, comma-separated: email, line, sms, postcard. Unlisted = unused."),
        )
        super().__init__(**kwargs)
        self.validators.append(validate_channel_order)

    def clean(self, value):
        value = super().clean(value)
        return ",".join(p.strip() for p in (value or "").split(",") if p.strip())


class ChannelSettingsForm(forms.Form):
    channel_order = ChannelOrderField(label=_("Channel order of the shop"), required=False)
    line_channel_id = forms.CharField(label=_("LINE channel ID"), max_length=20, required=False)
    line_basic_id = forms.CharField(
        label=_("LINE basic ID"),
        max_length=30,
        required=False,
        help_text=_("The account's @ID, e.g. @123abcde"),
    )
    # Secrets: never rendered back (render_value=False); empty = keep the stored value.
    line_channel_secret = forms.CharField(
        label=_("LINE channel secret"),
        required=False,
        max_length=100,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_("Leave empty to keep the stored value."),
    )
    line_access_token = forms.CharField(
        label=_("LINE channel access token"),
        required=False,
        max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_("Leave empty to keep the stored value."),
    )
    clear_line = forms.BooleanField(label=_("Remove the stored LINE secret and token"), required=False)
    sms_sender_id = forms.CharField(label=_("SMS sender ID"), max_length=11, required=False)
    sms_api_key = forms.CharField(
        label=_("SMS provider API key"),
        required=False,
        max_length=200,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_("Leave empty to keep the stored value."),
    )
    clear_sms = forms.BooleanField(label=_("Remove the stored SMS API key"), required=False)


CONSENT_CHOICES = [("", _("Not asked")), *ConsentStatus.choices]


class CustomerChannelsForm(forms.Form):
    channel_order = ChannelOrderField(
        label=_("Channel order for this customer"),
        required=False,
        help_text=_("Empty = the shop's order. Channels the shop does not use are ignored."),
    )
    sms = forms.ChoiceField(label=_("SMS consent"), choices=CONSENT_CHOICES, required=False)
    postcard_refused = forms.BooleanField(label=_("Refuses postcards"), required=False)
    source = forms.CharField(
        label=_("How the consent was given"),
        max_length=100,
        required=False,
        help_text=_("E.g. signed form at the counter, phone call on 1 May"),
    )

    def clean(self):
        data = super().clean()
        if data.get("sms") == ConsentStatus.OPTED_IN and not data.get("source"):
            self.add_error("source", _("Record how the customer opted in (特定電子メール法)."))
        return data
