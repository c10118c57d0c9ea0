"""CSV import: encodings, all-or-nothing, skip_invalid, duplicates, upsert, relations, memory."""

from __future__ import annotations

import io
import time
import tracemalloc

import pytest
from django.core.management import call_command

from customers.imports import run_import
from customers.models import Customer, Purchase, ServiceRecord, Vehicle
from tests.factories import CustomerFactory, VehicleFactory

pytestmark = pytest.mark.django_db

HEADER = "external_ref,family_name,given_name,family_name_kana,phone,birthday,consent,tags\n"
ROWS = (
    "C-1,山田,太郎,ヤマダ,090-1111-2222,1980-04-01,opted_in,VIP;法人\n"
    "C-2,佐藤,花子,サトウ,03-1234-5678,,unknown,\n"
)


def _file(text: str, encoding: str = "utf-8") -> io.BytesIO:
    return io.BytesIO(text.encode(encoding))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
def test_japanese_files_from_excel_are_read_in_every_encoding(tenant, encoding):
    report = run_import(tenant=tenant, kind="customers", fileobj=_file(HEADER + ROWS, encoding))

    assert report.errors == []
    assert (report.rows_total, report.rows_imported) == (2, 2)
    assert report.encoding == encoding
    yamada = Customer.objects.for_tenant(tenant).get(external_ref="C-1")
    assert (yamada.family_name, yamada.given_name, yamada.family_name_kana) == ("山田", "太郎", "ヤマダ")
    assert yamada.consent == "opted_in" and yamada.consent_at is not None
    assert sorted(t.name for t in yamada.tags.all()) == ["VIP", "法人"]
    assert str(yamada.birthday) == "1980-04-01"


def test_a_broken_row_writes_nothing_and_every_bad_row_is_reported(tenant):
    text = HEADER + ROWS + "C-3,,次郎,ヤマダ,,,,\nC-4,鈴木,,すずき,phone?,1990-13-01,,\n"

    report = run_import(tenant=tenant, kind="customers", fileobj=_file(text))

    assert [(e.row, e.column) for e in report.errors] == [
        (4, "family_name"),
        (5, "phone"),
        (5, "birthday"),
    ]
    assert report.rows_imported == 0
    assert report.rows_total == 4
    assert not Customer.objects.for_tenant(tenant).exists()


def test_skip_invalid_imports_the_valid_rows_and_reports_the_rest(tenant):
    text = HEADER + ROWS + "C-3,,次郎,,,,,\n"

    report = run_import(tenant=tenant, kind="customers", fileobj=_file(text), skip_invalid=True)

    assert [(e.row, e.column) for e in report.errors] == [(4, "family_name")]
    assert report.rows_imported == 2
    assert sorted(Customer.objects.for_tenant(tenant).values_list("external_ref", flat=True)) == [
        "C-1",
        "C-2",
    ]


def test_duplicate_external_refs_in_the_file_are_reported(tenant):
    text = HEADER + ROWS + "C-1,山田,三郎,,,,,\n"

    report = run_import(tenant=tenant, kind="customers", fileobj=_file(text))

    assert [(e.row, e.column) for e in report.errors] == [(4, "external_ref")]
    assert not Customer.objects.for_tenant(tenant).exists()


def test_dry_run_validates_and_writes_nothing(tenant):
    report = run_import(tenant=tenant, kind="customers", fileobj=_file(HEADER + ROWS), dry_run=True)

    assert (report.errors, report.rows_imported, report.dry_run) == ([], 2, True)
    assert not Customer.objects.for_tenant(tenant).exists()


def test_reimport_upserts_by_external_ref_and_only_touches_given_columns(tenant, other_tenant):
    existing = CustomerFactory(tenant=tenant, external_ref="C-1", family_name="旧姓", email="keep@example.jp")
    theirs = CustomerFactory(tenant=other_tenant, external_ref="C-1", family_name="他店")

    report = run_import(
        tenant=tenant, kind="customers", fileobj=_file("external_ref,family_name\nC-1,新姓\n")
    )

    existing.refresh_from_db()
    theirs.refresh_from_db()
    assert report.rows_imported == 1
    assert (existing.family_name, existing.email) == ("新姓", "keep@example.jp")
    assert theirs.family_name == "他店"
    assert Customer.objects.for_tenant(tenant).count() == 1


def test_unknown_or_missing_columns_refuse_the_file(tenant):
    unknown = run_import(tenant=tenant, kind="customers", fileobj=_file("family_name,shoe_size\n山田,27\n"))
    missing = run_import(tenant=tenant, kind="customers", fileobj=_file("given_name\n太郎\n"))

    assert [(e.row, e.column) for e in unknown.errors] == [(1, "shoe_size")]
    assert [(e.row, e.column) for e in missing.errors] == [(1, "family_name")]
    assert not Customer.objects.for_tenant(tenant).exists()


def test_vehicles_purchases_and_services_point_at_customers_by_external_ref(tenant, other_tenant):
    CustomerFactory(tenant=tenant, external_ref="C-1")
    CustomerFactory(tenant=other_tenant, external_ref="C-OTHER")

    vehicles = run_import(
        tenant=tenant,
        kind="vehicles",
        fileobj=_file(
            "customer_external_ref,external_ref,maker,model_name,inspection_expiry\n"
            "C-1,V-1,トヨタ,アクア,2026-05-01\n"
            "C-OTHER,V-2,ホンダ,フィット,\n"
        ),
        skip_invalid=True,
    )
    purchases = run_import(
        tenant=tenant,
        kind="purchases",
        fileobj=_file(
            "customer_external_ref,vehicle_external_ref,external_ref,date,category,amount,is_refund\n"
            "C-1,V-1,P-1,2025-01-10,used_car,1200000,0\n"
            "C-1,,P-2,2025-02-10,parts,-500,0\n"
            "C-1,,P-3,2025-02-11,nosuch,500,0\n"
        ),
        skip_invalid=True,
    )
    services = run_import(
        tenant=tenant,
        kind="service_records",
        fileobj=_file("vehicle_external_ref,date,kind,amount,mileage\nV-1,2026-04-20,shaken,98000,45000\n"),
    )

    assert [(e.row, e.column) for e in vehicles.errors] == [(3, "customer_external_ref")]
    assert [(e.row, e.column) for e in purchases.errors] == [(3, "amount"), (4, "category")]
    assert services.errors == []
    vehicle = Vehicle.objects.for_tenant(tenant).get(external_ref="V-1")
    assert Purchase.objects.for_tenant(tenant).get().vehicle == vehicle
    record = ServiceRecord.objects.for_tenant(tenant).get()
    assert record.customer.external_ref == "C-1" and str(record.next_due) == "2028-04-20"
    assert str(vehicle.inspection_expiry) == "2028-05-01"  # 車検 moved the expiry two years on
    assert vehicle.mileage == 45000
    assert not Vehicle.objects.for_tenant(tenant).filter(external_ref="V-2").exists()


def test_a_vehicle_of_another_customer_is_refused(tenant):
    CustomerFactory(tenant=tenant, external_ref="C-1")
    VehicleFactory(customer=CustomerFactory(tenant=tenant, external_ref="C-2"), external_ref="V-2")

    report = run_import(
        tenant=tenant,
        kind="service_records",
        fileobj=_file("customer_external_ref,vehicle_external_ref,date,kind\nC-1,V-2,2025-01-01,repair\n"),
    )

    assert [(e.row, e.column) for e in report.errors] == [(2, "vehicle_external_ref")]
    assert not ServiceRecord.objects.for_tenant(tenant).exists()


def test_import_csv_command(tenant, tmp_path, capsys):
    path = tmp_path / "customers.csv"
    path.write_bytes((HEADER + ROWS).encode("cp932"))

    call_command("import_csv", "--tenant", tenant.slug, "--kind", "customers", str(path))

    assert Customer.objects.for_tenant(tenant).count() == 2
    assert "2" in capsys.readouterr().out


def _generated_customers(n: int):
    """A file-like object streaming n customer rows without holding them in memory."""

    class Stream(io.RawIOBase):
        def __init__(self):
            self._lines = self._gen()
            self._buffer = b""

        def _gen(self):
            # Few, plain columns: this test is about memory; bench_api times a full-width file.
            yield b"external_ref,family_name,given_name\n"
            for i in range(n):
                yield f"R{i:07d},山田,太郎{i}\n".encode()

        def readable(self):
            return True

        def seekable(self):
            return True

        def seek(self, offset, whence=0):
            assert offset == 0 and whence == 0
            self._lines, self._buffer = self._gen(), b""
            return 0

        def readinto(self, b):
            while len(self._buffer) < len(b):
                chunk = next(self._lines, None)
                if chunk is None:
                    break
                self._buffer += chunk
            size = min(len(b), len(self._buffer))
            b[:size] = self._buffer[:size]
            self._buffer = self._buffer[size:]
            return size

    return io.BufferedReader(Stream(), buffer_size=1 << 16)


@pytest.mark.slow
def test_100k_rows_import_with_flat_memory(tenant):
    n = 100_000
    tracemalloc.start()
    started = time.perf_counter()
    report = run_import(tenant=tenant, kind="customers", fileobj=_generated_customers(n))
    elapsed = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert report.errors == []
    assert report.rows_imported == n
    assert Customer.objects.for_tenant(tenant).count() == n
    # Only the set of external refs grows with the file (~100 bytes a row); batches are 1,000 rows.
    assert peak < 40 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
    print(f"100k customers imported in {elapsed:.1f} s, tracemalloc peak {peak / 1e6:.1f} MB")


# --- the API endpoint --------------------------------------------------------------------------------
def test_import_endpoint_small_file_answers_with_the_report(tenant, api):
    upload = io.BytesIO((HEADER + ROWS).encode("cp932"))
    upload.name = "customers.csv"

    response = api.post("/api/v1/imports/", {"kind": "customers", "file": upload}, format="multipart")

    assert response.status_code == 200, response.content
    assert response.json() == {
        "rows_total": 2,
        "rows_imported": 2,
        "errors": [],
        "encoding": "cp932",
        "dry_run": False,
    }
    assert Customer.objects.for_tenant(tenant).count() == 2


def test_import_endpoint_reports_bad_rows_with_400_and_writes_nothing(tenant, api):
    upload = io.BytesIO((HEADER + "C-9,,名,,,,,\n").encode())
    upload.name = "customers.csv"

    response = api.post("/api/v1/imports/", {"kind": "customers", "file": upload}, format="multipart")

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"row": 2, "column": "family_name", "message": "このフィールドは空ではいけません。"}
    ]
    assert not Customer.objects.for_tenant(tenant).exists()


def test_import_endpoint_is_refused_to_read_keys(tenant, read_api):
    upload = io.BytesIO((HEADER + ROWS).encode())
    upload.name = "customers.csv"

    response = read_api.post("/api/v1/imports/", {"kind": "customers", "file": upload}, format="multipart")

    assert response.status_code == 403
    assert not Customer.objects.for_tenant(tenant).exists()


@pytest.fixture
def eager_celery():
    from crm.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


def test_large_file_becomes_a_job_that_runs_in_the_background(
    tenant, api, settings, monkeypatch, tmp_path, eager_celery, django_capture_on_commit_callbacks
):
    from customers import apis
    from customers.models import ImportJob

    settings.MEDIA_ROOT = tmp_path
    monkeypatch.setattr(apis, "SYNC_IMPORT_MAX_BYTES", 10)
    upload = io.BytesIO((HEADER + ROWS).encode())
    upload.name = "customers.csv"

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/imports/", {"kind": "customers", "file": upload}, format="multipart")
    polled = api.get(f"/api/v1/imports/{response.json()['id']}/").json()

    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    assert (polled["status"], polled["rows_estimated"], polled["rows_processed"]) == ("done", 2, 2)
    assert polled["report"]["rows_imported"] == 2
    job = ImportJob.objects.for_tenant(tenant).get()
    assert job.file.name.startswith(f"imports/{tenant.pk}/")
    assert Customer.objects.for_tenant(tenant).count() == 2


def test_import_jobs_of_other_tenant_are_404(tenant, other_api, tmp_path, settings):
    from customers.models import ImportJob

    settings.MEDIA_ROOT = tmp_path
    job = ImportJob.objects.create(tenant=tenant, kind="customers", file="imports/x.csv")

    assert other_api.get(f"/api/v1/imports/{job.pk}/").status_code == 404
    assert other_api.get("/api/v1/imports/").json()["results"] == []
