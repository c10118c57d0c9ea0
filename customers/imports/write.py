"""Checked rows to the database, set-based: one multi-row upsert per batch, then its side effects.

Django's `bulk_create(update_conflicts=…)` cannot name the predicate of the partial unique index on
(tenant, external_ref), hence the hand-written `INSERT … ON CONFLICT … WHERE external_ref <> ''`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from dateutil.relativedelta import relativedelta
from django.db import DEFAULT_DB_ALIAS, connection, connections, models

from crm.models import Tenant
from customers.imports.kinds import KIND_SPECS
from customers.imports.validate import Row
from customers.models import CustomerTag, ServiceKind, Tag, Vehicle


class BatchWriter:
    """Writes the batches of one file; remembers the tag ids it has looked up or created."""

    def __init__(self, *, tenant: Tenant, kind: str, now: datetime):
        self.tenant = tenant
        self.kind = kind
        self.model = KIND_SPECS[kind].model
        self.now = now
        self._tag_ids: dict[str, int] = {}

    def write(self, rows: list[Row]) -> None:
        if not rows:
            return
        set_columns = sorted({name for r in rows for name in r.values})
        returned = upsert(
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

    def _write_tags(self, rows: list[Row], returned: list[tuple[int, str]]) -> None:
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

    def _apply_service_side_effects(self, rows: list[Row]) -> None:
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


def upsert(
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
