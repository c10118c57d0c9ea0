"""Forms of LINE inbound: the customer's link page, the staff reply, linking a LINE user by hand."""

from django import forms
from django.utils.translation import gettext_lazy as _

from channels.line_events import MAX_TEXT_LENGTH


class LinkPageForm(forms.Form):
    """The customer types the code from the counter, or their phone number and plate number."""

    code = forms.CharField(
        label=_("Code from the shop"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autocapitalize": "characters"}),
        help_text=_("8 letters and digits, e.g. K7PQ-3MZA."),
    )
    phone = forms.CharField(
        label=_("Phone number"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    plate = forms.CharField(
        label=_("Plate number"),
        required=False,
        max_length=40,
        help_text=_("As on the vehicle, e.g. 品川 300 さ 12-34."),
    )

    def clean(self):
        data = super().clean()
        if not data.get("code") and not (data.get("phone") and data.get("plate")):
            raise forms.ValidationError(_("Enter the code, or both your phone number and plate number."))
        return data


class LineReplyForm(forms.Form):
    # One per rendered form: the push's retry key, so a double submit is delivered once.
    nonce = forms.UUIDField(widget=forms.HiddenInput)
    text = forms.CharField(
        label=_("Reply on LINE"),
        max_length=MAX_TEXT_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class LinkContactForm(forms.Form):
    contact = forms.TypedChoiceField(label=_("LINE user"), coerce=int)

    def __init__(self, *args, contacts=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contact"].choices = [(c.pk, _contact_label(c)) for c in contacts]


def _contact_label(contact) -> str:
    who = contact.display_name or contact.line_user_id[:9] + "…"
    said = getattr(contact, "last_text", "") or ""
    return f"{who}: “{said[:30]}”" if said else who
