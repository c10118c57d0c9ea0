"""Hypothesis fuzzing of the CSV import (`customers.imports.run_import`) and its API endpoint.

Whatever the bytes — random, or a CSV with real and bogus columns, hostile cells and any of the
encodings Japanese offices produce — the import returns a report: success, or errors that name a
row and (where one is to blame) a column. It never raises, never answers 500, and never leaves half
a file written: with an error and without `skip_invalid` nothing changes, and another tenant's rows
never change at all. Each example runs in a savepoint that is rolled back, so examples are independent.
"""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.tenancy.rls import tenant_context
from customers.imports import KIND_SPECS, KINDS, ImportReport, RowError, run_import
from customers.models import Customer, CustomerTag, Household, Purchase, ServiceRecord, Tag, Vehicle
from tests.factories import CustomerFactory, VehicleFactory

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TRACKED = (Customer, Vehicle, Purchase, ServiceRecord, Tag, CustomerTag, Household)

# Cells that mean something to some column, and cells that have broken importers elsewhere.
PLAUSIBLE = [
    "",
    " ",
    "C-1",
    "C-2",
    "V-1",
    "1",
    "0",
    "-1",
    "2024-02-29",
    "2023-02-29",
    "1990-13-01",
    "令和6年4月1日",
    "1e309",
    "NaN",
    "99999999999999999999999",
    "opted_in",
    "opted_out",
    "unknown",
    "true",
    "はい",
    "×",
    "VIP;常連",
    ";;;",
    "taro@example.jp",
    "not-an-email",
    "090-1234-5678",
    "ヤマダ",
    "山田",
    "トヨタ",
    "inspection",
    "vehicle",
    '=HYPERLINK("http://x")',
    "@SUM(1+1)",
    "a\x00b",
    "\ufeff",
    "\u3000",
    "x" * 300,
]
cells = st.one_of(
    st.sampled_from(PLAUSIBLE),
    st.text(max_size=20),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.dates().map(str),
)


def all_columns(kind: str) -> list[str]:
    spec = KIND_SPECS[kind]
    return [*spec.columns, *spec.required]


@st.composite
def csv_files(draw):
    kind = draw(st.sampled_from(KINDS))
    header = draw(
        st.lists(
            st.one_of(st.sampled_from(all_columns(kind)), st.sampled_from(["", "bogus", "ＦＡＭＩＬＹ"])),
            min_size=0,
            max_size=8,
        )
    )
    width = len(header)
    rows = draw(
        st.lists(
            st.one_of(
                st.lists(cells, min_size=width, max_size=width),  # the right number of cells
                st.lists(cells, max_size=width + 2),  # any number
            ),
            max_size=6,
        )
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=draw(st.sampled_from(["\r\n", "\n", "\r"])))
    if header or draw(st.booleans()):
        writer.writerow(header)
    writer.writerows(rows)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp932", "utf-16", "latin-1"]))
    data = out.getvalue().encode(encoding, errors="replace")
    if draw(st.booleans()):  # a truncated upload, possibly mid-character
        data = data[: draw(st.integers(min_value=0, max_value=len(data)))]
    return kind, data


HOSTILE = ["a\x00b", "\x00", "=cmd|' /C calc'!A0", "\ud7ff", "x" * 300, "2024-02-30", "\r\n", "C-1\x00"]


@st.composite
def nearly_valid_customer_files(draw):
    """A right customers file with one hostile cell: reaches the write path, which random files rarely do."""
    header = ["external_ref", "family_name", *draw(st.sets(st.sampled_from(all_columns("customers"))))]
    header = list(dict.fromkeys(header))
    rows = [
        {"external_ref": f"F-{i}", "family_name": "山田", "consent": "unknown"}
        for i in range(draw(st.integers(1, 4)))
    ]
    target_row = draw(st.integers(0, len(rows) - 1))
    target_col = draw(st.sampled_from(header))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for i, row in enumerate(rows):
        cells = [row.get(name, "") for name in header]
        if i == target_row:
            cells[header.index(target_col)] = draw(st.one_of(st.sampled_from(HOSTILE), cells_strategy()))
        writer.writerow(cells)
    return "customers", out.getvalue().encode(draw(st.sampled_from(["utf-8", "cp932"])), errors="replace")


def cells_strategy():
    return cells


@pytest.fixture
def shop(tenant, other_tenant):
    """A tenant with the rows that the references in PLAUSIBLE point at, and a neighbour with its own."""
    customer = CustomerFactory(tenant=tenant, external_ref="C-1")
    CustomerFactory(tenant=tenant, external_ref="C-2")
    VehicleFactory(customer=customer, external_ref="V-1")
    neighbour = CustomerFactory(tenant=other_tenant, external_ref="C-1")
    VehicleFactory(customer=neighbour, external_ref="V-1")
    return tenant


def counts(tenant) -> dict[str, int]:
    with tenant_context(tenant.pk):
        return {m.__name__: m.objects.for_tenant(tenant).count() for m in TRACKED}


def check_report(report, *, kind: str, before, after, other_before, other_after, skip_invalid: bool):
    assert isinstance(report, ImportReport)
    assert other_after == other_before, "another tenant's rows changed"
    for error in report.errors:
        assert isinstance(error, RowError)
        assert isinstance(error.row, int) and 0 <= error.row <= report.rows_total + 2
        assert isinstance(error.column, str)
        assert isinstance(error.message, str) and error.message.strip()
    if report.ok:
        assert report.rows_imported == report.rows_total
        grown = after["Customer"] - before["Customer"] if kind == "customers" else 0
        assert 0 <= grown <= report.rows_imported
        return
    whole_file = any(e.row <= 1 for e in report.errors)
    if whole_file or not skip_invalid:
        assert report.rows_imported == 0
        assert after == before, "a refused file left rows behind"
    else:
        bad_rows = {e.row for e in report.errors}
        assert report.rows_imported <= report.rows_total - len(bad_rows)


def run_once(tenant, other_tenant, kind: str, data: bytes, skip_invalid: bool) -> None:
    with transaction.atomic():  # rolled back below: every example starts from the same rows
        before, other_before = counts(tenant), counts(other_tenant)
        report = run_import(tenant=tenant, kind=kind, fileobj=io.BytesIO(data), skip_invalid=skip_invalid)
        after, other_after = counts(tenant), counts(other_tenant)
        check_report(
            report,
            kind=kind,
            before=before,
            after=after,
            other_before=other_before,
            other_after=other_after,
            skip_invalid=skip_invalid,
        )
        transaction.set_rollback(True)


@FUZZ
@given(kind=st.sampled_from(KINDS), data=st.binary(max_size=2_000), skip_invalid=st.booleans())
def test_random_bytes_give_a_report_never_an_exception(shop, other_tenant, kind, data, skip_invalid):
    run_once(shop, other_tenant, kind, data, skip_invalid)


@FUZZ
@given(file=csv_files(), skip_invalid=st.booleans())
def test_random_csv_gives_a_clean_report_and_never_half_a_file(shop, other_tenant, file, skip_invalid):
    kind, data = file
    run_once(shop, other_tenant, kind, data, skip_invalid)


@FUZZ
@given(file=nearly_valid_customer_files(), skip_invalid=st.booleans())
def test_one_hostile_cell_in_a_right_file_is_reported_or_imported(shop, other_tenant, file, skip_invalid):
    kind, data = file
    run_once(shop, other_tenant, kind, data, skip_invalid)


def test_nul_character_is_a_cell_error_not_a_crash(shop):
    data = "external_ref,family_name,tags\nN-1,a\x00b,VIP\nN-2,鈴木,\x00\n".encode()
    before = counts(shop)
    report = run_import(tenant=shop, kind="customers", fileobj=io.BytesIO(data))
    assert [(e.row, e.column) for e in report.errors] == [(2, "family_name"), (3, "tags")]
    assert report.rows_imported == 0
    assert counts(shop) == before


def test_a_valid_file_is_imported_whole(shop, other_tenant):
    """The property above also holds for a file that is simply right: make sure it is reached."""
    data = "external_ref,family_name,tags\r\nN-1,佐藤,VIP;常連\r\nN-2,鈴木,\r\n".encode("cp932")
    before = counts(shop)
    report = run_import(tenant=shop, kind="customers", fileobj=io.BytesIO(data))
    assert report.ok and report.rows_imported == 2 and report.encoding == "cp932"
    assert counts(shop)["Customer"] == before["Customer"] + 2


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(file=csv_files(), skip_invalid=st.booleans(), dry_run=st.booleans())
def test_import_endpoint_answers_2xx_or_4xx(
    shop, other_tenant, write_key_client, file, skip_invalid, dry_run
):
    kind, data = file
    with transaction.atomic():
        before = counts(other_tenant)
        response = write_key_client.post(
            "/api/v1/imports/",
            {
                "kind": kind,
                "skip_invalid": str(skip_invalid).lower(),
                "dry_run": str(dry_run).lower(),
                "file": SimpleUploadedFile("upload.csv", data, content_type="text/csv"),
            },
            format="multipart",
        )
        assert response.status_code in (200, 202, 400), (response.status_code, response.content[:500])
        assert counts(other_tenant) == before
        transaction.set_rollback(True)


@pytest.fixture
def write_key_client(tenant, owner, settings):
    from crm.api.keys import api_key_create
    from tests.api.conftest import key_client

    settings.KIZUNA_API_RATE = "100000/min"
    _key, raw = api_key_create(tenant=tenant, name="Fuzz", scope="write", created_by=owner)
    return key_client(raw)
