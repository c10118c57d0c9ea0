"""Dashboard pages of the customer record: list, forms, vehicles and CSV import.

Customer 360 composes every app, so it lives in workspace/views/customer_360.py."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.paginator import Paginator
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Coalesce
from django.http import Http404, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.common.csvsafe import csv_response
from crm.common.errors import ApplicationError
from crm.models import AuditAction
from crm.security.audit import audit_record
from crm.tenancy.permissions import tenant_view
from crm.tenancy.roles import EDIT_CUSTOMERS
from customers import forms
from customers.imports import KIND_SPECS, detect_encoding, run_import
from customers.imports.enqueue import import_job_create
from customers.models import (
    Customer,
    ImportJob,
    ImportStatus,
    ServiceRecord,
    Vehicle,
    VehicleStatus,
)
from customers.selectors import customer_get, customer_search, vehicle_get
from customers.services import (
    customer_create,
    customer_update,
    customers_add_tag,
    customers_assign,
)

PAGE_SIZE = 50
INLINE_ID_LIMIT = 5_000
EXPORT_LIMIT = 100_000
PREVIEW_ROWS = 5
REPORT_ERRORS_SHOWN = 500
SORT_ORDER = {
    "kana": ("family_name_kana", "given_name_kana", "pk"),
    "-updated": ("-updated_at", "-pk"),
    "-created": ("-created_at", "-pk"),
}


# --- list ---------------------------------------------------------------------------------------------
def _filtered_customers(request):
    tenant = request.tenant
    form = forms.CustomerFilterForm(request.GET or None, tenant=tenant)
    data = form.cleaned_data if form.is_valid() else {}
    qs = customer_search(tenant=tenant, q=data.get("q", ""))
    if data.get("segment"):
        qs = qs.filter(rfm__segment=data["segment"], rfm__tenant=tenant)
    if data.get("tag"):
        qs = qs.filter(customer_tags__tag=data["tag"], customer_tags__tenant=tenant)
    if data.get("staff"):
        qs = qs.filter(assigned_staff=data["staff"])
    if data.get("consent"):
        qs = qs.filter(consent=data["consent"])
    if data.get("birthday_month"):
        qs = qs.filter(birthday__month=data["birthday_month"])
    sort = data.get("sort") or "kana"
    if data.get("inspection_from") or data.get("inspection_to"):
        vehicles = Vehicle.objects.for_tenant(tenant).filter(status=VehicleStatus.OWNED)
        if data.get("inspection_from"):
            vehicles = vehicles.filter(inspection_expiry__gte=data["inspection_from"])
        if data.get("inspection_to"):
            vehicles = vehicles.filter(inspection_expiry__lte=data["inspection_to"])
        # A due-date window is usually narrow: passing its few owner ids as a list lets PostgreSQL fetch
        # them by primary key instead of walking the name index until 50 survive the semi-join.
        owner_ids = list(vehicles.values_list("customer_id", flat=True)[: INLINE_ID_LIMIT + 1])
        if len(owner_ids) <= INLINE_ID_LIMIT:
            qs = qs.filter(pk__in=owner_ids)
        else:
            qs = qs.filter(pk__in=vehicles.values("customer_id"))
    order = SORT_ORDER.get(sort, SORT_ORDER["kana"])
    if data.get("q"):
        order = (_sort_without_index(order[0]), *order[1:])
    return form, qs.order_by(*order)


def _sort_without_index(field: str):
    """The same order, through an expression no index matches.

    With a search, walking the sort index and filtering until 50 rows match reads most of the tenant
    when the matches sort late (山田 are all ヤマダ: 90,000 rows for one page). Sorting the matches the
    trigram indexes return is bounded by the number of matches instead.
    """
    name = field.lstrip("-")
    expression = Coalesce(F(name), F(name))
    return expression.desc() if field.startswith("-") else expression.asc()


class _CountedPaginator(Paginator):
    """Takes its count from a cheaper query than COUNT(*) over the paginated one."""

    def __init__(self, object_list, per_page, *, count_qs, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self._count_qs = count_qs

    @cached_property
    def count(self):
        return self._count_qs.count()


def _inspection_sorted_page(request, customers, *, filtered: bool):
    """Customers with an owned vehicle, soonest 車検 first.

    Walks owned vehicles in expiry order (partial index vehicle_owned_expiry) and keeps each customer's
    first one (no earlier owned vehicle: an index probe on vehicle_owned_customer), so a page costs its
    offset plus 50 probes instead of grouping every vehicle of the tenant (0.3 s at 100,000). The count
    reads only the vehicle_owned_customer index. Then only the page's customers are loaded.
    """
    tenant = request.tenant
    owned = Vehicle.objects.for_tenant(tenant).filter(
        status=VehicleStatus.OWNED, inspection_expiry__isnull=False
    )
    if filtered:
        owned = owned.filter(customer_id__in=customers.values("pk"))
    earlier = (
        Vehicle.objects.for_tenant(tenant)
        .filter(
            status=VehicleStatus.OWNED, inspection_expiry__isnull=False, customer_id=OuterRef("customer_id")
        )
        .filter(
            Q(inspection_expiry__lt=OuterRef("inspection_expiry"))
            | Q(inspection_expiry=OuterRef("inspection_expiry"), pk__lt=OuterRef("pk"))
        )
    )
    soonest = (
        owned.exclude(Exists(earlier))
        .order_by("inspection_expiry", "customer_id")
        .values("customer_id", next_inspection=F("inspection_expiry"))
    )
    with_a_car = owned.order_by().values("customer_id").distinct()
    page = _CountedPaginator(soonest, PAGE_SIZE, count_qs=with_a_car).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    by_id = (
        Customer.objects.for_tenant(tenant)
        .select_related("assigned_staff")
        .in_bulk([r["customer_id"] for r in rows])
    )
    page.object_list = []
    for r in rows:
        customer = by_id[r["customer_id"]]
        customer.next_inspection = r["next_inspection"]
        page.object_list.append(customer)
    return page


@tenant_view()
def customer_list(request):
    form, qs = _filtered_customers(request)
    show_inspection = form.is_valid() and form.cleaned_data.get("sort") == "inspection"
    if show_inspection:
        filtered = any(v for k, v in form.cleaned_data.items() if k != "sort")
        page = _inspection_sorted_page(request, qs, filtered=filtered)
    else:
        page = Paginator(qs.select_related("assigned_staff"), PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "customers/customer_list.html",
        {
            "page": page,
            "filter_form": form,
            # Its own id prefix: the filter form above has a `staff` field too (one id, two selects).
            "bulk_form": forms.BulkActionForm(tenant=request.tenant, auto_id="bulk_%s"),
            "querystring": params.urlencode(),
            "can_edit": request.membership.has_role(EDIT_CUSTOMERS),
            "show_inspection": show_inspection,
        },
    )


def _export_rows(qs):
    yield [
        _("ID"), _("Family name"), _("Given name"), _("Furigana"), _("Furigana (given)"), _("E-mail"),
        _("Phone"), _("Postal code"), _("Prefecture"), _("Address"), _("Birthday"), _("Consent"),
    ]  # fmt: skip
    rows = qs.values_list(
        "pk", "family_name", "given_name", "family_name_kana", "given_name_kana", "email", "phone",
        "postal_code", "prefecture", "address", "birthday", "consent",
    )  # fmt: skip
    yield from rows.iterator(chunk_size=2000)


@tenant_view(write=EDIT_CUSTOMERS)
@require_POST
def customer_bulk(request):
    """Bulk actions on the selected customers (or, for export, on the whole filtered list)."""
    form = forms.BulkActionForm(request.POST, tenant=request.tenant)
    back = reverse("customers:list") + (
        "?" + request.POST["querystring"] if request.POST.get("querystring") else ""
    )
    if not form.is_valid():
        for errs in form.errors.values():
            for err in errs:
                messages.error(request, err)
        return redirect(back)
    action, ids = form.cleaned_data["action"], form.cleaned_data["ids"]
    if action == "export":
        qs = Customer.objects.for_tenant(request.tenant).filter(pk__in=ids).order_by("pk")
        if not ids:  # nothing ticked: export what the filters show
            request.GET = QueryDict(request.POST.get("querystring", ""))
            _form, qs = _filtered_customers(request)
        audit_record(
            tenant=request.tenant,
            action=AuditAction.EXPORT_VIEWED,
            target_type="customers.customer",
            summary="customers.csv",
            changes={"selected": len(ids), "filters": sorted(QueryDict(request.POST.get("querystring", "")))},
            request=request,
        )
        return csv_response(_export_rows(qs[:EXPORT_LIMIT]), "customers.csv")
    if action == "tag":
        n = customers_add_tag(tenant=request.tenant, customer_ids=ids, name=form.cleaned_data["tag_name"])
        messages.success(request, _("Tagged %(n)d customers.") % {"n": n})
    else:
        try:
            n = customers_assign(tenant=request.tenant, customer_ids=ids, staff=form.cleaned_data["staff"])
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))
            return redirect(back)
        messages.success(request, _("Assigned %(n)d customers.") % {"n": n})
    return redirect(back)


# --- create / edit ------------------------------------------------------------------------------------
@tenant_view(write=EDIT_CUSTOMERS)
def customer_create_view(request):
    if not request.membership.has_role(EDIT_CUSTOMERS):
        raise PermissionDenied
    form = forms.CustomerForm(request.POST or None, tenant=request.tenant)
    if request.method == "POST" and form.is_valid():
        data = form.service_data()
        try:
            customer = customer_create(tenant=request.tenant, tags=form.cleaned_data["tags"], **data)
        except ValidationError as exc:
            forms.add_validation_errors(form, exc)
        else:
            messages.success(request, _("Customer created."))
            return redirect("customers:detail", pk=customer.pk)
    return render(request, "customers/customer_form.html", {"form": form, "customer": None})


@tenant_view(write=EDIT_CUSTOMERS)
def customer_edit(request, pk: int):
    customer = customer_get(tenant=request.tenant, pk=pk)
    if not request.membership.has_role(EDIT_CUSTOMERS):
        raise PermissionDenied  # viewers read the 360 page; the edit form is not for them
    form = forms.CustomerForm(request.POST or None, instance=customer, tenant=request.tenant)
    if request.method == "POST" and form.is_valid():
        data = form.service_data()
        data["tags"] = form.cleaned_data["tags"]
        # The ModelForm already copied the values onto the instance; re-read it so the service sees changes.
        fresh = customer_get(tenant=request.tenant, pk=pk)
        try:
            customer_update(tenant=request.tenant, customer=fresh, data=data)
        except (ValidationError, ApplicationError) as exc:
            error = exc if isinstance(exc, ValidationError) else ValidationError(str(exc))
            forms.add_validation_errors(form, error)
        else:
            messages.success(request, _("Customer saved."))
            return redirect("customers:detail", pk=fresh.pk)
    return render(request, "customers/customer_form.html", {"form": form, "customer": customer})


# --- vehicles -----------------------------------------------------------------------------------------
@tenant_view()
def vehicle_list(request):
    tenant = request.tenant
    today = timezone.localdate()
    form = forms.VehicleFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    qs = Vehicle.objects.for_tenant(tenant).filter(status=VehicleStatus.OWNED).select_related("customer")
    q = (data.get("q") or "").strip()
    if q:
        qs = qs.filter(Q(plate_number__icontains=q) | Q(maker__icontains=q) | Q(model_name__icontains=q))
    expiry = data.get("expiry")
    if expiry == "overdue":
        qs = qs.filter(inspection_expiry__lt=today)
    elif expiry:
        qs = qs.filter(
            inspection_expiry__gte=today, inspection_expiry__lte=today + timedelta(days=int(expiry))
        )
    if data.get("expiry_from"):
        qs = qs.filter(inspection_expiry__gte=data["expiry_from"])
    if data.get("expiry_to"):
        qs = qs.filter(inspection_expiry__lte=data["expiry_to"])
    page = Paginator(qs.order_by(F("inspection_expiry").asc(nulls_last=True), "pk"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    for v in page:
        v.days_left = (v.inspection_expiry - today).days if v.inspection_expiry else None
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "customers/vehicle_list.html",
        {"page": page, "filter_form": form, "querystring": params.urlencode()},
    )


@tenant_view()
def vehicle_detail(request, pk: int):
    vehicle = vehicle_get(tenant=request.tenant, pk=pk)
    today = timezone.localdate()
    vehicle.days_left = (vehicle.inspection_expiry - today).days if vehicle.inspection_expiry else None
    services = (
        ServiceRecord.objects.for_tenant(request.tenant)
        .filter(vehicle=vehicle)
        .order_by("-date", "-pk")[:200]
    )
    return render(request, "customers/vehicle_detail.html", {"vehicle": vehicle, "services": services})


# --- import -------------------------------------------------------------------------------------------
def _upload_dir() -> Path:
    path = Path(settings.VAR_DIR) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _upload_path(request, token: str) -> Path:
    """Uploaded files are named by a random token kept in this user's session for this tenant only."""
    uploads = request.session.get("import_uploads", {})
    entry = uploads.get(token)
    if not entry or entry.get("tenant") != request.tenant.pk:
        raise Http404
    path = _upload_dir() / f"{token}.csv"
    if not path.exists():
        raise Http404
    return path


def _preview(path: Path, kind: str) -> dict:
    with path.open("rb") as fh:
        sample = fh.read(1 << 20)
    encoding = detect_encoding(sample)
    text = sample.decode(encoding, errors="replace")
    rows = list(csv.reader(io.StringIO(text)))[: PREVIEW_ROWS + 1]
    header = [h.strip() for h in rows[0]] if rows else []
    spec = KIND_SPECS[kind]
    return {
        "encoding": {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 (BOM)", "cp932": "Shift_JIS"}.get(
            encoding, encoding
        ),
        "header": [{"name": h, "known": h in spec.columns} for h in header],
        "missing_required": [c for c in spec.required if c not in header],
        "expected": [
            {"name": c, "required": c in spec.required, "present": c in header} for c in spec.columns
        ],
        "rows": rows[1:],
    }


@tenant_view(write=EDIT_CUSTOMERS)
def import_upload(request):
    """Step 1: upload a file. Step 2 (same page): preview + dry-run report. Step 3: run the import."""
    form = forms.ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        token = uuid.uuid4().hex
        with (_upload_dir() / f"{token}.csv").open("wb") as out:
            for chunk in form.cleaned_data["file"].chunks():
                out.write(chunk)
        uploads = request.session.get("import_uploads", {})
        uploads[token] = {
            "tenant": request.tenant.pk,
            "kind": form.cleaned_data["kind"],
            "skip_invalid": form.cleaned_data["skip_invalid"],
            "name": form.cleaned_data["file"].name[:100],
        }
        request.session["import_uploads"] = uploads
        return redirect("customers:import_check", token=token)
    jobs = ImportJob.objects.for_tenant(request.tenant).select_related("created_by").order_by("-pk")[:10]
    return render(request, "customers/import_upload.html", {"form": form, "jobs": jobs})


@tenant_view(write=EDIT_CUSTOMERS)
def import_check(request, token: str):
    path = _upload_path(request, token)
    entry = request.session["import_uploads"][token]
    preview = _preview(path, entry["kind"])
    with path.open("rb") as fh:
        report = run_import(
            tenant=request.tenant, kind=entry["kind"], fileobj=fh, skip_invalid=True, dry_run=True
        )
    return render(
        request,
        "customers/import_check.html",
        {
            "token": token,
            "entry": entry,
            "preview": preview,
            "report": report,
            "errors_shown": report.errors[:REPORT_ERRORS_SHOWN],
            "can_run": not preview["missing_required"]
            and report.rows_imported > 0
            and (entry["skip_invalid"] or not report.errors),
        },
    )


@tenant_view(write=EDIT_CUSTOMERS)
@require_POST
def import_run(request, token: str):
    """Queue the checked file as a background import (Celery) and show its progress page."""
    path = _upload_path(request, token)
    entry = request.session["import_uploads"].pop(token)
    request.session.modified = True
    with path.open("rb") as fh:
        upload = File(fh, name=entry["name"])
        job = import_job_create(
            tenant=request.tenant,
            kind=entry["kind"],
            upload=upload,
            skip_invalid=entry["skip_invalid"],
            created_by=request.user,
        )
    path.unlink(missing_ok=True)
    return redirect("customers:import_job", pk=job.pk)


@tenant_view(write=EDIT_CUSTOMERS)
def import_job(request, pk: int):
    """The job's progress; htmx polls the fragment every two seconds until the job has finished."""
    job = get_object_or_404(ImportJob.objects.for_tenant(request.tenant), pk=pk)
    report = job.report or {}
    ctx = {
        "job": job,
        "running": job.status in (ImportStatus.PENDING, ImportStatus.RUNNING),
        "report": report,
        "errors_shown": (report.get("errors") or [])[:REPORT_ERRORS_SHOWN],
    }
    template = "customers/_import_progress.html" if request.htmx else "customers/import_job.html"
    return render(request, template, ctx)
