"""Dashboard pages for APPI requests about one customer: download their data, erase them (owners)."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from crm.common.csvsafe import csv_response
from crm.common.errors import ApplicationError
from crm.tenancy.permissions import tenant_view
from crm.tenancy.roles import Role
from customers.forms import ErasureForm
from customers.privacy import customer_erase, customer_export_personal_data, personal_data_csv_rows
from customers.selectors import customer_get

EXPORT_ROLE = Role.MANAGER  # disclosure requests: managers and owners
ERASE_ROLE = Role.OWNER  # erasure cannot be undone: owners only


@tenant_view(read=EXPORT_ROLE, write=ERASE_ROLE)
def customer_privacy(request, pk: int):
    """The privacy page of a customer: downloads, and (owners) the erasure form with its confirmation."""
    customer = customer_get(tenant=request.tenant, pk=pk)
    can_erase = request.membership.has_role(ERASE_ROLE) and customer.erased_at is None
    form = ErasureForm(request.POST or None, customer=customer)
    if request.method == "POST" and can_erase and form.is_valid():
        try:
            customer_erase(
                tenant=request.tenant,
                customer=customer,
                actor=request.user,
                reason=form.cleaned_data["reason"],
            )
        except ApplicationError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("The customer's personal data has been erased."))
            return redirect("customers:detail", pk=customer.pk)
    return render(
        request,
        "customers/customer_privacy.html",
        {"customer": customer, "form": form, "can_erase": can_erase},
    )


@tenant_view(read=EXPORT_ROLE)
def customer_personal_data(request, pk: int, fmt: str):
    """Everything held about the customer, as JSON or as one CSV (APPI disclosure). Audited."""
    customer = customer_get(tenant=request.tenant, pk=pk)
    data = customer_export_personal_data(tenant=request.tenant, customer=customer, request=request)
    filename = f"customer-{customer.pk}-personal-data"
    if fmt == "csv":
        response = csv_response(personal_data_csv_rows(data), f"{filename}.csv")
    else:
        response = HttpResponse(
            json.dumps(data, ensure_ascii=False, indent=2), content_type="application/json; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}.json"'
    response["Cache-Control"] = "no-store"
    return response
