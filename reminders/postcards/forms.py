from django import forms
from django.utils.translation import gettext_lazy as _


class MarkPostedForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("The printed cards of this batch are in the post."),
        help_text=_("Their reminders become sent. This cannot be undone."),
    )
