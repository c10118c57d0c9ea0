"""CSV import of customers, vehicles, purchases and service records (dashboard, API and command).

Columns are the API's field names; rows point at their customer and vehicle by `customer_external_ref`
/ `vehicle_external_ref` (or by id in `customer` / `vehicle`). Rows with an `external_ref` are upserted,
so a till can re-send its export. Japanese Excel files are read as they come: UTF-8, UTF-8 with BOM,
or Shift_JIS (cp932), detected from the bytes.

Memory stays flat however long the file: rows are read one at a time, validated with the model's own
field validators, and written in batches of IMPORT_BATCH_ROWS with one multi-row
`INSERT … ON CONFLICT (tenant_id, external_ref) WHERE external_ref <> '' DO UPDATE` per batch (Django's
`bulk_create(update_conflicts=…)` cannot name the partial unique index's predicate). Only the set of
external refs seen so far grows with the file, to report duplicates.

By default the whole file is one transaction: any invalid row and nothing is written, but every bad row
is still reported. With `skip_invalid` the valid rows are written and the bad ones reported.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, BinaryIO

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, ProhibitNullCharactersValidator
from django.db import DEFAULT_DB_ALIAS, connection, connections, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Tenant
from crm.tenancy.rls import tenant_context
from crm.tenancy.selectors import tenant_users
from customers.models import (
    Consent,
    Customer,
    CustomerTag,
    Household,
    Purchase,
    PurchaseCategory,
    ServiceKind,
    ServiceRecord,
    Tag,
    Vehicle,
)
from customers.services import CUSTOMER_FIELDS, VEHICLE_FIELDS, next_due_for

IMPORT_BATCH_ROWS = 1_000
ENCODING_SAMPLE_BYTES = 1 << 20
KINDS = ("customers", "vehicles", "purchases", "service_records")
TAG_SEPARATOR = ";"
CONSENT_VALUES = frozenset(Consent.values)
# Columns that are not one model field each: relations by reference or id, category codes, tags, consent.
_SPECIAL_COLUMNS = frozenset(
    {
        "customer_external_ref",
        "vehicle_external_ref",
        "customer",
        "vehicle",
        "household",
        "assigned_staff",
        "category",
        "tags",
        "consent",
    }
)


@dataclass
class RowError:
    row: int  # the line's row number as a spreadsheet shows it: the header is row 1
    column: str
    message: str


@dataclass
class ImportReport:
    rows_total: int = 0
    rows_imported: int = 0  # rows written (in a dry run: rows that would be written)
    errors: list[RowError] = field(default_factory=list)
    encoding: str = ""
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _FileError(Exception):
    """The file as a whole cannot be imported (encoding, header)."""

    def __init__(self, column: str, message: str):
        super().__init__(message)
        self.column = column
        self.message = message


# --- decoding -----------------------------------------------------------------------------------------
def detect_encoding(sample: bytes) -> str:
    """utf-8-sig for a BOM; utf-8 when the sample decodes as UTF-8; otherwise Shift_JIS (cp932)."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return "cp932"
    return "utf-8"


def _text_stream(fileobj: BinaryIO) -> tuple[io.TextIOWrapper, str]:
    sample = fileobj.read(ENCODING_SAMPLE_BYTES)
    fileobj.seek(0)
    encoding = detect_encoding(sample)
    return io.TextIOWrapper(fileobj, encoding=encoding, newline=""), encoding


# --- one kind of row ------------------------------------------------------------------------------------
@dataclass
class _Kind:
    model: type[models.Model]
    columns: tuple[str, ...]  # accepted columns (API field names)
    required: tuple[str, ...]  # columns the header must have
    refs: tuple[str, ...] = ()  # relation columns resolved per batch


KIND_SPECS = {
    "customers": _Kind(
        Customer,
        # The columns are the API's writable fields (customers.services owns the list).
        columns=(*CUSTOMER_FIELDS, "consent", "consent_source", "tags"),
        required=("family_name",),
    ),
    "vehicles": _Kind(
        Vehicle,
        columns=("customer", "customer_external_ref", *VEHICLE_FIELDS[1:]),
        required=("maker", "model_name"),
        refs=("customer",),
    ),
    "purchases": _Kind(
        Purchase,
        columns=(
            "customer",
            "customer_external_ref",
            "vehicle",
            "vehicle_external_ref",
            "external_ref",
            "date",
            "category",
            "amount",
            "gross_profit",
            "is_refund",
            "description",
        ),
        required=("date", "category", "amount"),
        refs=("customer", "vehicle"),
    ),
    "service_records": _Kind(
        ServiceRecord,
        columns=(
            "customer",
            "customer_external_ref",
            "vehicle",
            "vehicle_external_ref",
            "external_ref",
            "date",
            "kind",
            "amount",
            "gross_profit",
            "mileage",
            "next_due",
            "notes",
        ),
        required=("date", "kind"),
        refs=("customer", "vehicle"),
    ),
}

_TRUE = {"1", "true", "yes", "y", "t", "はい", "○", "〇"}
_FALSE = {"0", "false", "no", "n", "f", "いいえ", "", "×"}


def _message(exc: ValidationError) -> str:
    return " ".join(str(m) for m in exc.messages)


def _field_cleaner(model_field: models.Field) -> Callable[[str], Any]:
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


class _Row:
    """One parsed row: attname → value, plus the raw relation references to resolve in the batch."""

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


class _Importer:
    def __init__(self, *, tenant: Tenant, kind: str, skip_invalid: bool, dry_run: bool, progress):
        if kind not in KIND_SPECS:
            raise ValueError(f"Unknown import kind {kind!r}; choose one of {', '.join(KINDS)}")
        self.tenant = tenant
        self.kind = kind
        self.spec = KIND_SPECS[kind]
        self.model = self.spec.model
        self.skip_invalid = skip_invalid
        self.dry_run = dry_run
        self.progress = progress
        self.report = ImportReport(dry_run=dry_run)
        self.fields = {f.name: f for f in self.model._meta.concrete_fields}
        self.seen_refs: set[str] = set()
        self.now = timezone.now()
        self.header: list[str] = []
        self._tag_ids: dict[str, int] = {}
        self._cleaners: dict[str, Callable[[str], Any]] = {}
        # Small per-tenant lookups, loaded once: users, categories. Households only by id.
        self._staff_ids: set[int] | None = None
        self._categories: dict[str, int] | None = None

    # --- header ---
    def check_header(self, header: list[str]) -> None:
        header = [h.strip().lstrip("\ufeff") for h in header]
        unknown = [h for h in header if h and h not in self.spec.columns]
        if unknown:
            raise _FileError(
                unknown[0], _("Unknown column. Allowed columns: %s") % ", ".join(self.spec.columns)
            )
        if len(set(header)) != len(header):
            dup = next(h for h in header if header.count(h) > 1)
            raise _FileError(dup, _("This column appears twice."))
        for required in self.spec.required:
            if required not in header:
                raise _FileError(required, _("This column is required."))
        if (
            self.kind in ("vehicles", "purchases")
            and "customer" not in header
            and "customer_external_ref" not in header
        ):
            raise _FileError("customer_external_ref", _("Give customer_external_ref or customer."))
        if (
            self.kind == "service_records"
            and "vehicle" not in header
            and "vehicle_external_ref" not in header
        ):
            raise _FileError("vehicle_external_ref", _("Give vehicle_external_ref or vehicle."))
        self.header = header

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
            cleaner = self._cleaners[name] = _field_cleaner(self.fields[name])
        return cleaner

    def parse(self, line: int, record: dict[str, str]) -> tuple[_Row, list[RowError]]:
        row = _Row(line)
        errors: list[RowError] = []
        values = row.values
        for name in self.header:
            if not name:
                continue
            raw = record.get(name) or ""
            if "\x00" in raw:
                # PostgreSQL cannot store NUL in text (the driver raises), and no real cell holds one.
                errors.append(RowError(line, name, str(ProhibitNullCharactersValidator.message)))
                continue
            if name not in _SPECIAL_COLUMNS:
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

    def _check_row(self, row: _Row, errors: list[RowError]) -> None:
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

    # --- a batch: resolve relations, then write ---
    def resolve(self, batch: list[_Row]) -> list[tuple[_Row, list[RowError]]]:
        """Resolve customer / vehicle / household references of a batch with one query per relation."""
        tenant = self.tenant
        customer_refs = {r.customer_ref for r in batch if r.customer_ref}
        customer_ids = {r.customer_id for r in batch if r.customer_id}
        vehicle_refs = {r.vehicle_ref for r in batch if r.vehicle_ref}
        vehicle_ids = {r.vehicle_id for r in batch if r.vehicle_id}
        household_ids = {r.values["household_id"] for r in batch if r.values.get("household_id")}
        customers_by_ref, customers_by_id, vehicles_by_ref, vehicles_by_id = {}, set(), {}, {}
        if customer_refs:
            customers_by_ref = dict(
                Customer.objects.for_tenant(tenant)
                .filter(external_ref__in=customer_refs)
                .values_list("external_ref", "pk")
            )
        if customer_ids:
            customers_by_id = set(
                Customer.objects.for_tenant(tenant).filter(pk__in=customer_ids).values_list("pk", flat=True)
            )
        vehicle_cols = ("pk", "external_ref", "customer_id", "inspection_expiry", "mileage")
        if vehicle_refs:
            for v in (
                Vehicle.objects.for_tenant(tenant).filter(external_ref__in=vehicle_refs).values(*vehicle_cols)
            ):
                vehicles_by_ref[v["external_ref"]] = v
        if vehicle_ids:
            for v in Vehicle.objects.for_tenant(tenant).filter(pk__in=vehicle_ids).values(*vehicle_cols):
                vehicles_by_id[v["pk"]] = v
        households = set()
        if household_ids:
            households = set(
                Household.objects.for_tenant(tenant).filter(pk__in=household_ids).values_list("pk", flat=True)
            )
        out = []
        for row in batch:
            errors: list[RowError] = []
            vehicle = None
            if row.vehicle_ref:
                vehicle = vehicles_by_ref.get(row.vehicle_ref)
                if vehicle is None:
                    errors.append(
                        RowError(row.line, "vehicle_external_ref", _("No vehicle with this reference."))
                    )
            elif row.vehicle_id:
                vehicle = vehicles_by_id.get(row.vehicle_id)
                if vehicle is None:
                    errors.append(RowError(row.line, "vehicle", _("No vehicle with this id.")))
            customer_id = None
            if row.customer_ref:
                customer_id = customers_by_ref.get(row.customer_ref)
                if customer_id is None:
                    errors.append(
                        RowError(row.line, "customer_external_ref", _("No customer with this reference."))
                    )
            elif row.customer_id:
                customer_id = row.customer_id if row.customer_id in customers_by_id else None
                if customer_id is None:
                    errors.append(RowError(row.line, "customer", _("No customer with this id.")))
            elif vehicle is not None:
                customer_id = vehicle["customer_id"]  # a service is for the vehicle's owner
            if vehicle is not None and customer_id is not None and vehicle["customer_id"] != customer_id:
                errors.append(
                    RowError(row.line, "vehicle_external_ref", _("This vehicle belongs to another customer."))
                )
            if "customer" in self.spec.refs:
                row.values["customer_id"] = customer_id
            if "vehicle" in self.spec.refs:
                row.values["vehicle_id"] = vehicle["pk"] if vehicle else None
                row.vehicle = vehicle
            hh = row.values.get("household_id")
            if hh and hh not in households:
                errors.append(RowError(row.line, "household", _("No household with this id.")))
            out.append((row, errors))
        return out

    def write(self, rows: list[_Row]) -> None:
        if not rows:
            return
        set_columns = sorted({name for r in rows for name in r.values})
        returned = _upsert(
            self.model,
            tenant_id=self.tenant.pk,
            rows=[r.values for r in rows],
            columns=set_columns,
            now=self.now,
        )
        if self.kind == "customers":
            self._write_tags(rows, returned)
        if self.kind == "service_records":
            self._apply_service_side_effects(rows)

    def _write_tags(self, rows: list[_Row], returned: list[tuple[int, str]]) -> None:
        tagged = [r for r in rows if r.tags]
        if not tagged:
            return
        # RETURNING gives ids in VALUES order on PostgreSQL and SQLite.
        ids = [pk for pk, _ref in returned]
        names = {t for r in tagged for t in r.tags} - set(self._tag_ids)
        if names:
            Tag.objects.bulk_create([Tag(tenant=self.tenant, name=n) for n in names], ignore_conflicts=True)
            self._tag_ids.update(
                Tag.objects.for_tenant(self.tenant).filter(name__in=names).values_list("name", "pk")
            )
        links = [
            CustomerTag(tenant=self.tenant, customer_id=pk, tag_id=self._tag_ids[name])
            for row, pk in zip(rows, ids, strict=True)
            if row.tags
            for name in row.tags
        ]
        CustomerTag.objects.bulk_create(links, ignore_conflicts=True)

    def _apply_service_side_effects(self, rows: list[_Row]) -> None:
        """A 車検 moves the vehicle's inspection expiry two years on; a higher mileage is kept."""
        changed: dict[int, Vehicle] = {}
        for row in rows:
            vehicle = row.vehicle
            if vehicle is None:
                continue
            obj = changed.get(vehicle["pk"]) or Vehicle(
                pk=vehicle["pk"],
                tenant_id=self.tenant.pk,
                inspection_expiry=vehicle["inspection_expiry"],
                mileage=vehicle["mileage"],
            )
            day: date = row.values["date"]
            dirty = False
            if row.values.get("kind") == ServiceKind.SHAKEN:
                base = obj.inspection_expiry if obj.inspection_expiry and obj.inspection_expiry > day else day
                new_expiry = base + relativedelta(years=2)
                if obj.inspection_expiry is None or new_expiry > obj.inspection_expiry:
                    obj.inspection_expiry, dirty = new_expiry, True
            mileage = row.values.get("mileage")
            if mileage and (obj.mileage or 0) < mileage:
                obj.mileage, dirty = mileage, True
            if dirty:
                obj.updated_at = self.now
                changed[obj.pk] = obj
        if changed:
            Vehicle.objects.for_tenant(self.tenant).bulk_update(
                list(changed.values()), ["inspection_expiry", "mileage", "updated_at"]
            )

    # --- the whole file ---
    def run(self, fileobj: BinaryIO) -> ImportReport:
        report = self.report
        try:
            text, report.encoding = _text_stream(fileobj)
        except OSError as exc:
            report.errors.append(RowError(0, "", str(exc)))
            return report
        with transaction.atomic():
            try:
                self._run_rows(text)
            except _FileError as exc:
                report.errors.append(RowError(1, exc.column, exc.message))
            except UnicodeDecodeError:
                # Decoding fails a chunk at a time, not at a known line, and every row after it is
                # unreadable: the file as a whole is refused (row 1), so nothing of it is written.
                report.errors.append(RowError(1, "", _("The file is neither UTF-8 nor Shift_JIS text.")))
            except csv.Error as exc:
                report.errors.append(RowError(report.rows_total + 1, "", _("Broken CSV: %s") % exc))
            report.errors.sort(key=lambda e: e.row)
            whole_file_refused = any(e.row <= 1 for e in report.errors)  # encoding or header
            if whole_file_refused or (report.errors and not self.skip_invalid):
                report.rows_imported = 0
                transaction.set_rollback(True)
            elif self.dry_run:
                transaction.set_rollback(True)
        text.detach()
        return report

    def _run_rows(self, text: io.TextIOWrapper) -> None:
        report = self.report
        reader = csv.reader(text)
        header = next(reader, None)
        if header is None:
            raise _FileError("", _("The file is empty."))
        self.check_header(header)
        width = len(self.header)
        batch: list[_Row] = []
        for index, cells in enumerate(reader):
            line = index + 2
            if not any(c.strip() for c in cells):
                continue  # blank lines, common at the end of Excel exports
            report.rows_total += 1
            if len(cells) != width:
                report.errors.append(
                    RowError(
                        line,
                        "",
                        _("Expected %(want)d cells, found %(got)d.") % {"want": width, "got": len(cells)},
                    )
                )
                continue
            row, errors = self.parse(line, dict(zip(self.header, cells, strict=True)))
            if errors:
                report.errors.extend(errors)
                continue
            batch.append(row)
            if len(batch) >= IMPORT_BATCH_ROWS:
                self._flush(batch)
                batch = []
        self._flush(batch)

    def _flush(self, batch: list[_Row]) -> None:
        if not batch:
            return
        report = self.report
        valid = []
        for row, errors in self.resolve(batch):
            if errors:
                report.errors.extend(errors)
            else:
                valid.append(row)
        writing = self.skip_invalid or not report.errors
        if writing and not self.dry_run:
            self.write(valid)
        if writing:
            report.rows_imported += len(valid)
        if self.progress is not None:
            self.progress(report.rows_total)


def _upsert(
    model, *, tenant_id: int, rows: list[dict[str, Any]], columns: list[str], now
) -> list[tuple[int, str]]:
    """Insert rows, or update the existing row with the same (tenant, external_ref); one statement.

    Only `columns` (the file's columns) are updated on conflict, so a file with a few columns updates
    just those. Returns (id, external_ref) per row, in order.
    """
    meta = model._meta
    qn = connection.ops.quote_name
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    by_attname = {f.attname: f for f in fields}
    insert_fields = fields
    defaults = {}
    for f in fields:
        if f.attname == "tenant_id":
            defaults[f.attname] = tenant_id
        elif f.attname in ("created_at", "updated_at"):
            defaults[f.attname] = now
        elif f.has_default():
            defaults[f.attname] = f.get_default()
        elif f.null:
            defaults[f.attname] = None
        else:
            defaults[f.attname] = ""
    conn = connections[DEFAULT_DB_ALIAS]
    # Text, numbers, booleans and ids go to the driver as they are; only dates and times need the
    # backend's adaptation. Defaults are adapted once, not once per row.
    prepared_defaults = {
        attname: value if value in ("", None) else by_attname[attname].get_db_prep_save(value, conn)
        for attname, value in defaults.items()
    }
    needs_prep = [
        (f.attname, f.name, isinstance(f, models.DateField | models.JSONField | models.DecimalField))
        for f in insert_fields
    ]
    params: list[Any] = []
    for values in rows:
        for attname, name, prep in needs_prep:
            if attname in values:
                value = values[attname]
            elif name in values:
                value = values[name]
            else:
                params.append(prepared_defaults[attname])
                continue
            params.append(by_attname[attname].get_db_prep_save(value, conn) if prep else value)
    table = qn(meta.db_table)
    updates = {}
    for name in columns:
        column = by_attname[name].column
        if column == "external_ref":
            continue
        if column in ("consent_at", "opted_out_at", "consent_source"):
            # Re-importing the same consent keeps when and where it was first recorded.
            updates[column] = (
                f"CASE WHEN {table}.{qn('consent')} = EXCLUDED.{qn('consent')} "
                f"THEN {table}.{qn(column)} ELSE EXCLUDED.{qn(column)} END"
            )
        else:
            updates[column] = f"EXCLUDED.{qn(column)}"
    updates["updated_at"] = f"EXCLUDED.{qn('updated_at')}"
    update_sql = [f"{qn(column)} = {expr}" for column, expr in updates.items()]
    placeholders = "(" + ", ".join(["%s"] * len(insert_fields)) + ")"
    # Only quoted identifiers are formatted in; every value is a parameter.
    sql = (
        f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(f.column) for f in insert_fields)}) "  # noqa: S608
        f"VALUES {', '.join([placeholders] * len(rows))} "
        f"ON CONFLICT ({qn('tenant_id')}, {qn('external_ref')}) WHERE NOT ({qn('external_ref')} = '') "
        f"DO UPDATE SET {', '.join(update_sql)} "
        f"RETURNING {qn('id')}, {qn('external_ref')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [tuple(r) for r in cursor.fetchall()]


def run_import(
    *,
    tenant: Tenant,
    kind: str,
    fileobj: BinaryIO,
    skip_invalid: bool = False,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import a CSV of `kind` (customers, vehicles, purchases, service_records) into the tenant.

    Any invalid row and nothing is written (every bad row is reported), unless `skip_invalid`.
    `dry_run` validates everything and writes nothing. `progress(rows_read)` is called per batch.
    """
    return _Importer(
        tenant=tenant, kind=kind, skip_invalid=skip_invalid, dry_run=dry_run, progress=progress
    ).run(fileobj)


def count_data_rows(fileobj: BinaryIO) -> int:
    """Data rows in a file, counted cheaply from its newlines (for a progress bar's total)."""
    count = 0
    for chunk in iter(lambda: fileobj.read(1 << 20), b""):
        count += chunk.count(b"\n")
    fileobj.seek(0)
    return max(count - 1, 0)


# --- background import jobs -----------------------------------------------------------------------------
PROGRESS_EVERY_ROWS = 5_000


def _write_progress(*, tenant_id: int, job_id: int, rows: int) -> None:
    """Record progress from inside the import's transaction, so other connections can see it.

    The import holds one transaction (all-or-nothing); an UPDATE through it would stay invisible until
    the end. On PostgreSQL a short second connection in autocommit writes the count; SQLite (single
    writer) only gets the final count.
    """
    if connection.vendor != "postgresql":
        return
    from customers.models import ImportJob

    side = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with side.cursor() as cursor:
            # Its own short transaction, with the tenant set in it: row-level security (crm.tenancy.rls)
            # applies to this connection too, and a transaction-local setting cannot outlive it.
            cursor.execute("BEGIN")
            cursor.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant_id)])
            cursor.execute(
                f"UPDATE {ImportJob._meta.db_table} SET rows_processed = %s WHERE id = %s AND tenant_id = %s",  # noqa: S608
                [rows, job_id, tenant_id],
            )
            cursor.execute("COMMIT")
    finally:
        side.close()


@transaction.atomic
def import_job_create(*, tenant: Tenant, kind: str, upload, skip_invalid: bool = False, created_by=None):
    """Store an uploaded CSV under MEDIA_ROOT and queue its import; the job shows progress meanwhile."""
    from customers.models import ImportJob, ImportKind
    from customers.tasks import import_csv_task

    job = ImportJob(tenant=tenant, kind=ImportKind(kind), skip_invalid=skip_invalid, created_by=created_by)
    job.rows_estimated = count_data_rows(upload)
    job.file.save(getattr(upload, "name", None) or f"{kind}.csv", upload, save=False)
    job.full_clean()
    job.save()
    from crm.models import AuditAction
    from crm.security.audit import audit_record

    audit_record(
        tenant=tenant,
        action=AuditAction.IMPORT_QUEUED,
        target=job,
        actor=created_by,
        summary=f"{job.kind}: ~{job.rows_estimated} rows",
        changes={"kind": job.kind, "rows_estimated": job.rows_estimated, "skip_invalid": skip_invalid},
    )
    transaction.on_commit(lambda: import_csv_task.delay(tenant.pk, job.pk))
    return job


def import_job_run(*, tenant: Tenant, job_id: int) -> ImportReport | None:
    """Run a queued import. Safe to deliver twice: a job that is no longer pending is left alone."""
    from customers.models import ImportJob, ImportStatus

    # Several commits on purpose (the claim, the import, the outcome), so each one sets the tenant for
    # row-level security itself (crm.tenancy.rls); the caller must not wrap this in one transaction.
    with tenant_context(tenant.pk):
        claimed = (
            ImportJob.objects.for_tenant(tenant)
            .filter(pk=job_id, status=ImportStatus.PENDING)
            .update(status=ImportStatus.RUNNING)
        )
        if not claimed:
            return None
        job = ImportJob.objects.for_tenant(tenant).get(pk=job_id)
    last = [0]

    def progress(rows: int) -> None:
        if rows - last[0] >= PROGRESS_EVERY_ROWS:
            last[0] = rows
            _write_progress(tenant_id=tenant.pk, job_id=job_id, rows=rows)

    try:
        with job.file.open("rb") as fileobj, tenant_context(tenant.pk):
            report = run_import(
                tenant=tenant,
                kind=job.kind,
                fileobj=fileobj,
                skip_invalid=job.skip_invalid,
                progress=progress,
            )
    except Exception:
        with tenant_context(tenant.pk):
            ImportJob.objects.for_tenant(tenant).filter(pk=job_id).update(
                status=ImportStatus.FAILED, finished_at=timezone.now()
            )
        raise
    with tenant_context(tenant.pk):
        ImportJob.objects.for_tenant(tenant).filter(pk=job_id).update(
            status=ImportStatus.DONE if report.ok or job.skip_invalid else ImportStatus.FAILED,
            rows_processed=report.rows_total,
            report=report.as_dict(),
            finished_at=timezone.now(),
        )
    return report
