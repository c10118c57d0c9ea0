"""The normal URLs plus `/bench/bare-customers/`: the API's customer query as JSON, without DRF.

It answers exactly what `/api/v1/customers/?birthday_month=4&page_size=50` answers (same rows, fields,
tags and order) with a plain Django view, so the benchmark can show what the API layer costs.
The tenant comes from KIZUNA_BENCH_TENANT: this view exists only in the benchmark settings.
"""

import os

from django.db.models import Prefetch
from django.http import JsonResponse
from django.urls import path

from crm.models import Tenant
from crm.urls import urlpatterns as base_urlpatterns
from customers.models import Customer, Tag
from customers.serializers import CustomerSerializer

FIELDS = [f for f in CustomerSerializer.Meta.fields if f not in ("tags",)]
FK_FIELDS = {"household": "household_id", "assigned_staff": "assigned_staff_id"}


def bare_customers(request):
    tenant = Tenant.objects.get(slug=os.environ["KIZUNA_BENCH_TENANT"])
    month = int(request.GET.get("birthday_month", 4))
    rows = (
        Customer.objects.for_tenant(tenant)
        .filter(birthday__month=month)
        .order_by("updated_at", "id")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.for_tenant(tenant)))[:50]
    )
    results = [
        {
            **{f: getattr(c, FK_FIELDS.get(f, f)) for f in FIELDS},
            "tags": [t.name for t in c.tags.all()],
        }
        for c in rows
    ]
    return JsonResponse(
        {"next": None, "previous": None, "results": results}, json_dumps_params={"ensure_ascii": False}
    )


urlpatterns = [*base_urlpatterns, path("bench/bare-customers/", bare_customers)]
