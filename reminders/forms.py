from django import forms
from django.utils.translation import gettext_lazy as _

from reminders.models import HIDDEN_RULE_KINDS, ReminderRule, ReminderTemplate, RuleKind
from reminders.templating import ALLOWED_FIELDS


class ReminderTemplateForm(forms.ModelForm):
    class Meta:
        model = ReminderTemplate
        fields = ["name", "language", "subject", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 14, "class": "font-monospace"})}
        help_texts = {"body": _("Fields: ") + ", ".join(f"{{{{ {f} }}}}" for f in ALLOWED_FIELDS)}

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.tenant = tenant


class ReminderRuleForm(forms.ModelForm):
    offsets = forms.CharField(
        label=_("Days from the occasion"),
        help_text=_("Comma-separated; negative = before. Example: -90,-60,-30,7"),
    )

    class Meta:
        model = ReminderRule
        fields = [
            "name",
            "kind",
            "template",
            "is_active",
            "season_months",
            "season_day",
            "audience_segment",
            "audience_tag",
            "holdout_percent",
            "attribution_days",
        ]
        help_texts = {
            "holdout_percent": _(
                "This share of eligible customers is planned but sent nothing (control group), so the "
                "results can show what the reminders changed. 10 % is a good start; 0 = no control group."
            ),
            "attribution_days": _(
                "A service or purchase within this many days after the due date counts as a visit."
            ),
        }

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.tenant = tenant
        # Campaign and personal-message rules are made by their own pages, never here.
        self.fields["kind"].choices = [
            c for c in self.fields["kind"].choices if c[0] not in HIDDEN_RULE_KINDS
        ]
        self.fields["template"].queryset = ReminderTemplate.objects.for_tenant(tenant)
        if self.instance.pk and not self.is_bound:
            self.initial["offsets"] = ",".join(str(s.offset_days) for s in self.instance.steps.all())

    def clean_offsets(self) -> list[int]:
        try:
            values = [int(v) for v in self.cleaned_data["offsets"].replace(" ", "").split(",") if v]
        except ValueError as exc:
            raise forms.ValidationError(_("Enter whole numbers of days separated by commas.")) from exc
        if not values or len(values) > 12 or any(abs(v) > 730 for v in values):
            raise forms.ValidationError(_("Enter 1–12 offsets, each within ±730 days."))
        if self.cleaned_data.get("kind") == RuleKind.SEASONAL:
            values = values[:1]
        return values

    def data_for_service(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}
