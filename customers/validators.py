"""Validators for Japanese personal data."""

import re

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

# 〒123-4567
postal_code_validator = RegexValidator(
    r"^\d{3}-\d{4}$", _("Enter a postal code in the form 123-4567."), code="invalid_postal_code"
)

# Domestic (03-1234-5678, 090-1234-5678, 0120-123-456) or +81 international; digits and hyphens only.
phone_validator = RegexValidator(
    r"^(\+81[- ]?\d{1,4}|0\d{1,4})[- ]?\d{1,4}[- ]?\d{3,4}$",
    _("Enter a phone number such as 03-1234-5678 or 090-1234-5678."),
    code="invalid_phone",
)

_KANA = re.compile(r"^[\u30A0-\u30FF\u3040-\u309F\u3000 ー・]+$")


def kana_validator(value: str) -> None:
    """Furigana must be katakana or hiragana only (spaces, ー and ・ allowed)."""
    if value and not _KANA.match(value):
        raise ValidationError(_("Furigana must be written in kana only."), code="invalid_kana")


# 登録番号, e.g. 品川 300 さ 12-34 — free-form enough for real plates, but never empty noise.
plate_validator = RegexValidator(
    r"^\S.{2,30}$", _("Enter the plate number as shown on the vehicle."), code="invalid_plate"
)
