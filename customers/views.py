"""Dashboard pages of the customer record."""

from django.core.paginator import Paginator
from django.shortcuts import render

from crm.permissions import tenant_view
from customers.selectors import customer_get, customer_search

PAGE_SIZE = 50


@tenant_view()
def customer_list(request):
    qs = customer_search(tenant=request.tenant, q=request.GET.get("q", "")).select_related("assigned_staff")
    page = Paginator(qs.order_by("family_name_kana", "given_name_kana", "pk"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "customers/customer_list.html", {"page": page, "q": request.GET.get("q", "")})


@tenant_view()
def customer_detail(request, pk: int):
    customer = customer_get(tenant=request.tenant, pk=pk)
    return render(request, "customers/customer_detail.html", {"customer": customer})
