"""Bookings' part of a customer's personal data (APPI disclosure and erasure).

Registered with `customers.privacy` by `BookingsConfig.ready()`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bookings import slot_cache
from bookings.models import CUSTOMER_CHANGEABLE, Booking, BookingStatus, SlotClaim
from crm.models import Tenant
from customers.models import Customer
from customers.privacy import PersonalDataPart, personal_rows


def export(*, tenant: Tenant, customer: Customer) -> dict[str, Any]:
    return {
        "bookings": personal_rows(
            Booking.objects.for_tenant(tenant).filter(customer=customer).order_by("starts_at", "pk"),
            [
                "id",
                "work_type__name",
                "starts_at",
                "status",
                "source",
                "customer_note",
                "line_id",
                "created_at",
            ],
        ),
    }


def erase(*, tenant: Tenant, customer: Customer, now: datetime) -> dict[str, int]:
    """What the customer wrote goes; bookings still ahead are cancelled and their seats freed."""
    bookings = Booking.objects.for_tenant(tenant).filter(customer_id=customer.pk)
    ahead = bookings.filter(status__in=CUSTOMER_CHANGEABLE, starts_at__gte=now)
    SlotClaim.objects.for_tenant(tenant).filter(booking__in=ahead).delete()
    slot_cache.slots_changed(tenant_id=tenant.pk)
    cancelled = ahead.update(
        status=BookingStatus.CANCELLED, cancelled_at=now, cancel_reason="customer erased", updated_at=now
    )
    bookings.update(customer_note="", line_id="", updated_at=now)
    return {"bookings_cancelled": cancelled}


PERSONAL_DATA = PersonalDataPart(export=export, erase=erase)
