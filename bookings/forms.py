"""Forms of the public booking pages and the staff side."""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.utils.translation import gettext_lazy as _

from bookings.models import BookingSettings, WorkType
from customers.validators import kana_validator, phone_validator, plate_validator

SLOT_FORMAT = "%Y-%m-%dT%H:%M"


def parse_slot(value: str, zone) -> datetime | None:
    """A slot key (local "YYYY-MM-DDTHH:MM") as an aware datetime in the shop's zone, or None."""
    try:
        return datetime.strptime(value or "", SLOT_FORMAT).replace(tzinfo=zone)
    except ValueError:
        return None


class NewCustomerForm(forms.Form):
    """The shop link's form: who books, and which car. E-mail or LINE ID, at least one."""

    family_name = forms.CharField(label=_("Family name"), max_length=50)
    given_name = forms.CharField(label=_("Given name"), max_length=50)
    family_name_kana = forms.CharField(
        label=_("Family name (furigana)"), max_length=50, validators=[kana_validator]
    )
    given_name_kana = forms.CharField(
        label=_("Given name (furigana)"), max_length=50, validators=[kana_validator]
    )
    phone = forms.CharField(label=_("Phone"), max_length=20, validators=[phone_validator])
    email = forms.EmailField(label=_("E-mail"), required=False)
    line_id = forms.CharField(label=_("LINE ID"), max_length=50, required=False)
    plate_number = forms.CharField(
        label=_("Plate number"),
        max_length=40,
        validators=[plate_validator],
        help_text=_("As on the plate, e.g. 品川 300 さ 12-34"),
    )
    maker = forms.CharField(label=_("Maker"), max_length=50, required=False)
    model_name = forms.CharField(label=_("Model"), max_length=80, required=False)
    customer_note = forms.CharField(
        label=_("Message to the shop"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    # A field people never see (hidden by CSS and aria): a bot that fills every field gives itself away.
    website = forms.CharField(required=False, label=_("Leave this empty"))

    def clean(self):
        data = super().clean()
        if not (data.get("email") or data.get("line_id")):
            self.add_error("email", _("Give an e-mail address or a LINE ID so we can confirm."))
        return data


class CompleteForm(forms.Form):
    mileage = forms.IntegerField(label=_("Mileage (km)"), min_value=0, max_value=2_000_000, required=False)
    amount = forms.IntegerField(label=_("Amount (JPY)"), min_value=0, max_value=100_000_000, initial=0)
    notes = forms.CharField(
        label=_("Notes"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class BookingSettingsForm(forms.ModelForm):
    class Meta:
        model = BookingSettings
        fields = [
            "online_booking_enabled",
            "slot_minutes",
            "lead_time_hours",
            "horizon_days",
            "closed_on_public_holidays",
        ]


class WorkTypeForm(forms.ModelForm):
    class Meta:
        model = WorkType
        fields = [
            "name",
            "code",
            "service_kind",
            "duration_minutes",
            "capacity",
            "bookable_online",
            "is_active",
            "position",
        ]


class OpeningHoursForm(forms.Form):
    """The weekly pattern as text, one line per weekday: "9:00-12:00, 13:00-18:00" (empty: closed)."""

    def __init__(self, *args, weekdays, initial_hours: dict[int, str], **kwargs):
        super().__init__(*args, **kwargs)
        for value, label in weekdays:
            self.fields[f"day_{value}"] = forms.CharField(
                label=label, required=False, max_length=100, initial=initial_hours.get(value, "")
            )

    def intervals(self):
        parsed = []
        for name, text in self.cleaned_data.items():
            weekday = int(name.removeprefix("day_"))
            for part in filter(None, (p.strip() for p in text.replace("、", ",").split(","))):
                try:
                    opens, closes = (datetime.strptime(t.strip(), "%H:%M").time() for t in part.split("-"))
                except ValueError:
                    self.add_error(name, _("Write the hours like 9:00-12:00, 13:00-18:00."))
                    continue
                parsed.append((weekday, opens, closes))
        return parsed


class ClosedDayForm(forms.Form):
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label=_("Note"), max_length=100, required=False)
