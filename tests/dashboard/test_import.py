"""The import page: upload, column preview, dry-run report row by row, then the import."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from customers.imports import import_job_run
from customers.models import Customer, ImportJob
from tests.conftest import _client_for

pytestmark = pytest.mark.django_db

CSV = (
    "family_name,given_name,family_name_kana,postal_code,phone\n"
    "山田,太郎,ヤマダ,150-0001,090-1111-2222\n"
    "佐藤,花子,satou,150-0002,090-3333-4444\n"
    "鈴木,一郎,スズキ,1234,090-5555-6666\n"
    "田中,次郎,タナカ,160-0022,090-7777-8888\n"
)


def _upload(client, content: bytes, *, skip_invalid=False, name="customers.csv"):
    data = {"kind": "customers", "file": SimpleUploadedFile(name, content, content_type="text/csv")}
    if skip_invalid:
        data["skip_invalid"] = "on"
    return client.post(reverse("customers:import"), data)


def test_check_page_previews_columns_and_reports_bad_rows(staff_client, tenant):
    response = _upload(staff_client, CSV.encode("cp932"))
    assert response.status_code == 302
    check = staff_client.get(response.url)
    ctx = check.context
    assert ctx["preview"]["encoding"] == "Shift_JIS"
    assert all(h["known"] for h in ctx["preview"]["header"])
    assert len(ctx["preview"]["rows"]) == 4
    assert sorted((e.row, e.column) for e in ctx["report"].errors) == [
        (3, "family_name_kana"),
        (4, "postal_code"),
    ]
    assert ctx["can_run"] is False  # bad rows and "skip invalid" not chosen: nothing can be imported
    assert "satou" in check.content.decode()
    assert not Customer.objects.for_tenant(tenant).exists()  # the check is a dry run


def test_import_runs_as_a_background_job_with_progress(
    staff_client, tenant, django_capture_on_commit_callbacks
):
    response = _upload(staff_client, CSV.encode("utf-8"), skip_invalid=True)
    check = staff_client.get(response.url)
    assert check.context["can_run"] is True
    token = response.url.rstrip("/").split("/")[-1]
    with django_capture_on_commit_callbacks() as callbacks:
        done = staff_client.post(reverse("customers:import_run", args=[token]))
    job = ImportJob.objects.for_tenant(tenant).get()
    assert done.url == reverse("customers:import_job", args=[job.pk])
    assert len(callbacks) == 1  # the Celery task is queued once the job row is committed
    pending = staff_client.get(done.url, HTTP_HX_REQUEST="true")
    assert pending.templates[0].name == "customers/_import_progress.html"
    assert 'hx-trigger="every 2s"' in pending.content.decode()  # htmx keeps polling while it runs
    assert not Customer.objects.for_tenant(tenant).exists()
    import_job_run(tenant=tenant, job_id=job.pk)  # what the worker does
    finished = staff_client.get(done.url, HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in finished
    assert "family_name_kana" in finished and "postal_code" in finished  # the two bad rows, reported
    assert sorted(Customer.objects.for_tenant(tenant).values_list("family_name", flat=True)) == [
        "山田",
        "田中",
    ]
    assert staff_client.post(reverse("customers:import_run", args=[token])).status_code == 404  # used once


def test_import_job_of_another_tenant_is_404(staff_client, other_client, tenant):
    response = _upload(staff_client, CSV.encode("utf-8"), skip_invalid=True)
    token = response.url.rstrip("/").split("/")[-1]
    done = staff_client.post(reverse("customers:import_run", args=[token]))
    assert other_client.get(done.url).status_code == 404


def test_unknown_column_is_flagged_in_the_preview(staff_client):
    response = _upload(staff_client, "family_name,favourite_colour\n山田,赤\n".encode())
    check = staff_client.get(response.url)
    header = {h["name"]: h["known"] for h in check.context["preview"]["header"]}
    assert header == {"family_name": True, "favourite_colour": False}
    assert check.context["can_run"] is False


def test_missing_required_column_blocks_the_import(staff_client):
    response = _upload(staff_client, b"given_name\n\xe5\xa4\xaa\xe9\x83\x8e\n")
    check = staff_client.get(response.url)
    assert check.context["preview"]["missing_required"] == ["family_name"]
    assert check.context["can_run"] is False


def test_an_upload_belongs_to_its_uploader_and_tenant(staff_client, other_owner, tenant):
    response = _upload(staff_client, CSV.encode("utf-8"), skip_invalid=True)
    other = _client_for(other_owner)
    assert other.get(response.url).status_code == 404
    token = response.url.rstrip("/").split("/")[-1]
    assert other.post(reverse("customers:import_run", args=[token])).status_code == 404
    assert not Customer.objects.for_tenant(tenant).exists()


def test_rejects_non_csv(staff_client):
    response = _upload(staff_client, b"PK\x03\x04", name="customers.xlsx")
    assert "file" in response.context["form"].errors
