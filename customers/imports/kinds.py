"""The four kinds of file and what each may hold: its model, its columns, the ones it must have."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models

from customers.models import Customer, Purchase, ServiceRecord, Vehicle
from customers.services import CUSTOMER_FIELDS, VEHICLE_FIELDS

KINDS = ("customers", "vehicles", "purchases", "service_records")
# Columns that are not one model field each: relations by reference or id, category codes, tags, consent.
SPECIAL_COLUMNS = frozenset(
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
class KindSpec:
    model: type[models.Model]
    columns: tuple[str, ...]  # accepted columns (API field names)
    required: tuple[str, ...]  # columns the header must have
    refs: tuple[str, ...] = ()  # relation columns resolved per batch


KIND_SPECS = {
    "customers": KindSpec(
        Customer,
        # The columns are the API's writable fields (customers.services owns the list).
        columns=(*CUSTOMER_FIELDS, "consent", "consent_source", "tags"),
        required=("family_name",),
    ),
    "vehicles": KindSpec(
        Vehicle,
        columns=("customer", "customer_external_ref", *VEHICLE_FIELDS[1:]),
        required=("maker", "model_name"),
        refs=("customer",),
    ),
    "purchases": KindSpec(
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
    "service_records": KindSpec(
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
