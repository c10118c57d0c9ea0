"""Dashboard forms of the customer record. Querysets are always restricted to the active tenant."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from crm.models import Tenant
from crm.tenancy.forms import UserChoiceField
from crm.tenancy.selectors import tenant_users, tenant_workers
from customers.imports import KINDS
from customers.models import (
    Consent,
    Customer,
    Household,
    PreferredLanguage,
    ServiceKind,
    ServiceRecord,
    Tag,
    Vehicle,
)
from customers.privacy import ErasureReason
from customers.segments import segment_choices

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
MAX_IMPORT_BYTES = 50 * 1024 * 1024


def add_validation_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form: next to its field where the form has one."""
    if hasattr(exc, "error_dict"):
        for field, errs in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errs)
    else:
        form.add_error(None, exc)


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.label


class CustomerForm(forms.ModelForm):
    """Create or edit a customer. Field validators (kana, postal code, phone) run through full_clean."""

    tags = forms.CharField(
        label=_("Tags"),
        required=False,
        help_text=_("Separate tags with commas."),
    )

    class Meta:
        model = Customer
        fields = [
            "family_name",
            "given_name",
            "family_name_kana",
            "given_name_kana",
            "email",
            "language",
            "phone",
            "postal_code",
            "prefecture",
            "address",
            "birthday",
            "gender",
            "household",
            "acquisition_channel",
            "acquisition_cost",
            "assigned_staff",
            "notes",
        ]
        widgets = {"birthday": DATE_INPUT, "notes": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
            "family_name_kana": _("Katakana or hiragana, e.g. ヤマダ"),
            "postal_code": _("7 digits, e.g. 150-0001"),
        }

    def __init__(self, *args, tenant: Tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        self.instance.tenant = tenant  # model clean() checks relations against it
        self.fields["household"].queryset = Household.objects.for_tenant(tenant).order_by("name")
        self.fields["household"].empty_label = _("None")
        self.fields["assigned_staff"] = StaffChoiceField(
            label=_("assigned staff"),
            queryset=tenant_users(tenant=tenant),
            required=False,
            empty_label=_("None"),
        )
        # A post without the field (older clients, scripts) keeps the customer's language or Japanese.
        self.fields["language"].required = False
        if self.instance.pk:
            self.initial.setdefault(
                "tags", ", ".join(self.instance.tags.order_by("name").values_list("name", flat=True))
            )

    def clean_language(self) -> str:
        return self.cleaned_data.get("language") or self.instance.language or PreferredLanguage.JA

    def clean_tags(self) -> list[str]:
        raw = self.cleaned_data.get("tags") or ""
        return [t.strip() for t in raw.replace("、", ",").split(",") if t.strip()]

    def service_data(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if k != "tags"}
        return data


class ConsentForm(forms.Form):
    consent = forms.ChoiceField(label=_("marketing consent"), choices=Consent.choices)
    source = forms.CharField(
        label=_("Where the customer said so"),
        max_length=100,
        initial=_("In person at the shop"),
    )


class InteractionQuickForm(forms.Form):
    channel = forms.ChoiceField(label=_("channel"), choices=[("phone", _("Phone")), ("visit", _("Visit"))])
    summary = forms.CharField(label=_("summary"), widget=forms.Textarea(attrs={"rows": 2}))
    follow_up_needed = forms.BooleanField(label=_("follow-up needed"), required=False)


class ServiceRecordForm(forms.ModelForm):
    class Meta:
        model = ServiceRecord
        fields = ["vehicle", "date", "kind", "amount", "mileage", "notes"]
        widgets = {"date": DATE_INPUT, "notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, tenant: Tenant, customer: Customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.tenant = tenant
        self.instance.customer = customer
        self.fields["vehicle"].queryset = Vehicle.objects.for_tenant(tenant).filter(customer=customer)
        self.fields["kind"].initial = ServiceKind.CHECK_12M
        self.fields["amount"].required = False

    def clean_amount(self):
        return self.cleaned_data.get("amount") or 0


class FollowUpForm(forms.Form):
    due_date = forms.DateField(label=_("due date"), widget=DATE_INPUT)
    reason = forms.CharField(label=_("reason"), max_length=200)
    assigned_to = StaffChoiceField(label=_("assigned to"), queryset=None, required=False)

    def __init__(self, *args, tenant: Tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assigned_to"].queryset = tenant_users(tenant=tenant)


class CustomerFilterForm(forms.Form):
    """The customer list's search, filters and sort (GET)."""

    SORTS = [
        ("kana", _("Furigana")),
        ("-updated", _("Recently updated")),
        ("inspection", _("Inspection due (customers with a car)")),
        ("-created", _("Newest")),
    ]
    q = forms.CharField(label=_("Search"), required=False)
    segment = forms.ChoiceField(label=_("Segment"), required=False)
    tag = forms.ModelChoiceField(label=_("Tag"), queryset=None, required=False, to_field_name="name")
    staff = StaffChoiceField(label=_("Assigned staff"), queryset=None, required=False)
    consent = forms.ChoiceField(
        label=_("Consent"), required=False, choices=[("", _("Any")), *list(Consent.choices)]
    )
    birthday_month = forms.TypedChoiceField(
        label=_("Birthday month"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", _("Any"))] + [(m, str(m)) for m in range(1, 13)],
    )
    inspection_from = forms.DateField(label=_("Inspection due from"), required=False, widget=DATE_INPUT)
    inspection_to = forms.DateField(label=_("Inspection due to"), required=False, widget=DATE_INPUT)
    sort = forms.ChoiceField(label=_("Sort"), required=False, choices=SORTS)

    def __init__(self, *args, tenant: Tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tag"].queryset = Tag.objects.for_tenant(tenant)
        self.fields["tag"].empty_label = _("Any")
        self.fields["staff"].queryset = tenant_users(tenant=tenant)
        self.fields["staff"].empty_label = _("Any")
        segments = segment_choices()
        if segments:
            self.fields["segment"].choices = [("", _("Any")), *segments]
        else:  # no app computes segments: no segment filter
            del self.fields["segment"]


class BulkActionForm(forms.Form):
    ACTIONS = [("tag", _("Add tag")), ("assign", _("Assign to staff")), ("export", _("Export CSV"))]
    action = forms.ChoiceField(label=_("Bulk action"), choices=ACTIONS)
    ids = forms.TypedMultipleChoiceField(coerce=int, required=False)
    tag_name = forms.CharField(label=_("Tag"), max_length=50, required=False)
    staff = StaffChoiceField(label=_("Staff"), queryset=None, required=False)

    def __init__(self, *args, tenant: Tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["staff"].queryset = tenant_users(tenant=tenant)
        # Any id may be posted; the service re-scopes them to the tenant, so foreign ids do nothing.
        self.fields["ids"].choices = [(v, v) for v in self.data.getlist("ids")] if self.data else []

    def clean(self):
        data = super().clean()
        if data.get("action") == "tag" and not data.get("tag_name"):
            self.add_error("tag_name", _("Enter a tag."))
        if data.get("action") in ("tag", "assign") and not data.get("ids"):
            self.add_error(None, _("Select at least one customer."))
        return data


class VehicleFilterForm(forms.Form):
    q = forms.CharField(label=_("Plate, maker or model"), required=False)
    expiry = forms.ChoiceField(
        label=_("Inspection"),
        required=False,
        choices=[
            ("", _("Any")),
            ("overdue", _("Expired")),
            ("30", _("Within 30 days")),
            ("60", _("Within 60 days")),
            ("90", _("Within 90 days")),
        ],
    )
    expiry_from = forms.DateField(label=_("Expiry from"), required=False, widget=DATE_INPUT)
    expiry_to = forms.DateField(label=_("Expiry to"), required=False, widget=DATE_INPUT)


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("What the file contains"),
        choices=[
            (k, label)
            for k, label in zip(
                KINDS,
                [_("Customers"), _("Vehicles"), _("Purchases"), _("Service records")],
                strict=True,
            )
        ],
    )
    file = forms.FileField(label=_("CSV file (UTF-8 or Shift_JIS)"))
    skip_invalid = forms.BooleanField(
        label=_("Import the valid rows and skip the invalid ones"), required=False
    )

    def clean_file(self):
        f = self.cleaned_data["file"]
        if f.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(_("The file is larger than 50 MB."))
        if not f.name.lower().endswith((".csv", ".txt")):
            raise forms.ValidationError(_("Upload a .csv file."))
        return f


class ErasureForm(forms.Form):
    """The owner confirms an APPI erasure by typing the customer's number; the reason is a choice."""

    reason = forms.ChoiceField(label=_("Reason"), choices=())
    confirm = forms.CharField(
        label=_("Type the customer number to confirm"),
        max_length=20,
        help_text=_("Erasure cannot be undone."),
    )

    def __init__(self, *args, customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.customer = customer
        self.fields["reason"].choices = ErasureReason.choices

    def clean_confirm(self):
        value = self.cleaned_data["confirm"].strip().lstrip("#")
        if value != str(self.customer.pk):
            raise forms.ValidationError(_("That is not this customer's number."))
        return value


# --- settings: handover ----------------------------------------------------------------------------
class HandoverForm(forms.Form):
    from_user = UserChoiceField(label=_("Leaving staff member"), queryset=None)
    to_user = UserChoiceField(label=_("Hand over to"), queryset=None)
    confirm = forms.BooleanField(
        label=_("I understand every customer and open deal of the leaving staff member moves now."),
    )

    def __init__(self, *args, tenant: Tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["from_user"].queryset = tenant_users(tenant=tenant)
        self.fields["to_user"].queryset = tenant_workers(tenant=tenant)

    def clean(self):
        data = super().clean()
        if data.get("from_user") and data.get("from_user") == data.get("to_user"):
            self.add_error("to_user", _("Choose a different staff member to hand over to."))
        return data
