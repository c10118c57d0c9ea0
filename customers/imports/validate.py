"""Records to checked rows: each cell through its model field's validators, then the rules per kind.

The rules are the model's `clean()` without its per-row queries: the few lookups they need (the shop's
members, its purchase categories) are loaded once per file; relations are resolved per batch
(`customers.imports.resolve`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, ProhibitNullCharactersValidator
from django.db import models
from django.utils.translation import gettext as _

from crm.models import Tenant
from crm.tenancy.selectors import tenant_users
from customers.imports.kinds import KIND_SPECS, SPECIAL_COLUMNS
from customers.imports.report import RowError
from customers.models import Consent, PurchaseCategory
from customers.services import next_due_for

TAG_SEPARATOR = ";"
CONSENT_VALUES = frozenset(Consent.values)
_TRUE = {"1", "true", "yes", "y", "t", "はい", "○", "〇"}
_FALSE = {"0", "false", "no", "n", "f", "いいえ", "", "×"}


def _message(exc: ValidationError) -> str:
    return " ".join(str(m) for m in exc.messages)


def field_cleaner(model_field: models.Field) -> Callable[[str], Any]:
    """The model field's own validation of one non-empty cell, minus Django's generic overhead.

    Text fields without choices check the length and run the field's other validators (phone, kana,
    e-mail …) directly; every other field uses `Field.clean`. Errors carry the same messages.
    """
    if isinstance(model_field, models.CharField | models.TextField) and not model_field.choices:
        max_length = model_field.max_length
        validators = [v for v in model_field.validators if not isinstance(v, MaxLengthValidator)]

        def clean_text(raw: str) -> str:
            if max_length is not None and len(raw) > max_length:
                MaxLengthValidator(max_length)(raw)  # raises with Django's message
            for validator in validators:
                validator(raw)
            return raw

        return clean_text
    return lambda raw: model_field.clean(raw, None)


class Row:
    """One checked row: attname → value, plus the raw relation references to resolve in the batch."""

    __slots__ = (
        "customer_id",
        "customer_ref",
        "line",
        "tags",
        "values",
        "vehicle",
        "vehicle_id",
        "vehicle_ref",
    )

    def __init__(self, line: int):
        self.line = line
        self.values: dict[str, Any] = {}
        self.customer_ref = self.vehicle_ref = ""
        self.customer_id: int | None = None
        self.vehicle_id: int | None = None
        self.vehicle: dict[str, Any] | None = None  # the resolved vehicle (id, owner, expiry, mileage)
        self.tags: list[str] | None = None


class RowValidator:
    """Checks the rows of one file of one kind; remembers the external refs seen, to report duplicates."""

    def __init__(self, *, tenant: Tenant, kind: str, now: datetime):
        self.tenant = tenant
        self.kind = kind
        self.fields = {f.name: f for f in KIND_SPECS[kind].model._meta.concrete_fields}
        self.now = now
        self.seen_refs: set[str] = set()
        self._cleaners: dict[str, Callable[[str], Any]] = {}
        # Small per-tenant lookups, loaded once: users, categories. Households only by id.
        self._staff_ids: set[int] | None = None
        self._categories: dict[str, int] | None = None

    # --- one cell ---
    def _clean(self, name: str, raw: str, errors: list[RowError], line: int) -> Any:
        model_field = self.fields[name]
        raw = raw.strip()
        if raw == "":
            if model_field.has_default():
                return model_field.get_default()
            if model_field.null:
                return None
            if model_field.blank:
                return ""
            errors.append(RowError(line, name, str(model_field.error_messages["blank"])))
            return None
        try:
            if isinstance(model_field, models.BooleanField):
                lowered = raw.lower()
                if lowered not in _TRUE | _FALSE:
                    raise ValidationError(model_field.error_messages["invalid"] % {"value": raw})
                return lowered in _TRUE
            return self._cleaner(name)(raw)
        except ValidationError as exc:
            errors.append(RowError(line, name, _message(exc)))
            return None

    def _cleaner(self, name: str) -> Callable[[str], Any]:
        cleaner = self._cleaners.get(name)
        if cleaner is None:
            cleaner = self._cleaners[name] = field_cleaner(self.fields[name])
        return cleaner

    # --- one row ---
    def row(self, line: int, record: dict[str, str]) -> tuple[Row, list[RowError]]:
        """The record's cells as values, and every error of the row (none: the row can be written)."""
        row = Row(line)
        errors: list[RowError] = []
        values = row.values
        for name, raw in record.items():
            if not name:
                continue
            if "\x00" in raw:
                # PostgreSQL cannot store NUL in text (the driver raises), and no real cell holds one.
                errors.append(RowError(line, name, str(ProhibitNullCharactersValidator.message)))
                continue
            if name not in SPECIAL_COLUMNS:
                values[name] = self._clean(name, raw, errors, line)
            elif name == "customer_external_ref":
                row.customer_ref = raw.strip()
            elif name == "vehicle_external_ref":
                row.vehicle_ref = raw.strip()
            elif name in ("customer", "vehicle", "household", "assigned_staff"):
                raw = raw.strip()
                if raw:
                    if not raw.isdigit():
                        errors.append(RowError(line, name, _("Enter a whole number (an id).")))
                    elif name == "customer":
                        row.customer_id = int(raw)
                    elif name == "vehicle":
                        row.vehicle_id = int(raw)
                    else:
                        values[f"{name}_id"] = int(raw)
                elif name in ("household", "assigned_staff"):
                    values[f"{name}_id"] = None
            elif name == "category":
                code = raw.strip()
                category_id = self.categories().get(code)
                if category_id is None:
                    errors.append(RowError(line, name, _("Unknown category code %(code)s.") % {"code": code}))
                values["category_id"] = category_id
            elif name == "tags":
                row.tags = sorted({t.strip()[:50] for t in raw.split(TAG_SEPARATOR) if t.strip()})
            elif name == "consent":
                consent = raw.strip() or Consent.UNKNOWN
                if consent not in CONSENT_VALUES:
                    errors.append(RowError(line, name, _("Choose one of: %s") % ", ".join(Consent.values)))
                values["consent"] = consent
            else:
                values[name] = self._clean(name, raw, errors, line)
        self._check_row(row, errors)
        return row, errors

    def _check_row(self, row: Row, errors: list[RowError]) -> None:
        """Rules across cells of one row: the model's clean() without its per-row queries."""
        values, line = row.values, row.line
        ref = values.get("external_ref") or ""
        if ref:
            if ref in self.seen_refs:
                errors.append(
                    RowError(line, "external_ref", _("This external reference appears twice in the file."))
                )
            self.seen_refs.add(ref)
        if self.kind == "customers":
            staff = values.get("assigned_staff_id")
            if staff is not None and staff not in self.staff_ids():
                errors.append(RowError(line, "assigned_staff", _("Select a member of this shop.")))
            if "consent" in values:
                consent = values["consent"]
                source = values.get("consent_source") or "import"
                values["consent_source"] = source[:100]
                values["consent_at"] = self.now if consent == Consent.OPTED_IN else None
                values["opted_out_at"] = self.now if consent == Consent.OPTED_OUT else None
        elif self.kind == "purchases":
            amount, refund = values.get("amount"), bool(values.get("is_refund"))
            if amount is not None and not refund and amount < 0:
                errors.append(
                    RowError(
                        line, "amount", _("A purchase amount cannot be negative; record a refund instead.")
                    )
                )
            if amount is not None and refund and amount > 0:
                errors.append(RowError(line, "amount", _("A refund is entered as a negative amount.")))
        elif (
            self.kind == "service_records"
            and values.get("next_due") is None
            and values.get("date")
            and values.get("kind")
        ):
            values["next_due"] = next_due_for(values["kind"], values["date"])
        has_vehicle = bool(row.vehicle_ref or row.vehicle_id)
        if self.kind in ("vehicles", "purchases") and not (row.customer_ref or row.customer_id):
            errors.append(
                RowError(line, "customer_external_ref", _("Give customer_external_ref or customer."))
            )
        if self.kind == "service_records" and not has_vehicle:
            errors.append(RowError(line, "vehicle_external_ref", _("Give vehicle_external_ref or vehicle.")))

    # --- small lookups ---
    def staff_ids(self) -> set[int]:
        if self._staff_ids is None:
            self._staff_ids = set(tenant_users(tenant=self.tenant).values_list("pk", flat=True))
        return self._staff_ids

    def categories(self) -> dict[str, int]:
        if self._categories is None:
            self._categories = dict(
                PurchaseCategory.objects.for_tenant(self.tenant).values_list("code", "pk")
            )
        return self._categories
