"""Reads of the customer record. Every selector takes the tenant and returns 404 across tenants."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from crm.models import Tenant
from customers.models import Customer, Household, Purchase, PurchaseCategory, ServiceRecord, Vehicle


def customer_get(*, tenant: Tenant, pk: int) -> Customer:
    return get_object_or_404(
        Customer.objects.for_tenant(tenant).select_related("household", "assigned_staff"), pk=pk
    )


def customer_search(*, tenant: Tenant, q: str = "") -> QuerySet[Customer]:
    """Customers matching a free-text search over name, furigana, phone, e-mail and plate number."""
    qs = Customer.objects.for_tenant(tenant)
    q = (q or "").strip()
    if not q:
        return qs
    digits = q.replace("-", "")
    cond = (
        Q(family_name__icontains=q)
        | Q(given_name__icontains=q)
        | Q(family_name_kana__icontains=q)
        | Q(given_name_kana__icontains=q)
        | Q(email__icontains=q)
        | Q(external_ref=q)
    )
    parts = q.split()
    if len(parts) == 2:
        cond |= Q(family_name__icontains=parts[0], given_name__icontains=parts[1])
        cond |= Q(family_name_kana__icontains=parts[0], given_name_kana__icontains=parts[1])
    if digits.isdigit() and len(digits) >= 3:
        cond |= Q(phone__icontains=q)
    plate_owner_ids = (
        Vehicle.objects.for_tenant(tenant).filter(plate_number__icontains=q).values("customer_id")
    )
    return qs.filter(cond | Q(pk__in=plate_owner_ids))


def household_get(*, tenant: Tenant, pk: int) -> Household:
    return get_object_or_404(Household.objects.for_tenant(tenant), pk=pk)


def vehicle_get(*, tenant: Tenant, pk: int) -> Vehicle:
    return get_object_or_404(Vehicle.objects.for_tenant(tenant).select_related("customer"), pk=pk)


def purchase_get(*, tenant: Tenant, pk: int) -> Purchase:
    return get_object_or_404(Purchase.objects.for_tenant(tenant).select_related("category"), pk=pk)


def service_record_get(*, tenant: Tenant, pk: int) -> ServiceRecord:
    return get_object_or_404(ServiceRecord.objects.for_tenant(tenant), pk=pk)


def purchase_categories(*, tenant: Tenant) -> QuerySet[PurchaseCategory]:
    return PurchaseCategory.objects.for_tenant(tenant)
