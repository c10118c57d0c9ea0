"""Analytics' share of a customer's personal data (APPI): their scores are disclosed; erasure keeps them.

The scores hold no identifying field and keep revenue, RFM and LTV adding up after an erasure, so the
erasure part changes nothing. Registered with `customers.privacy` by `AnalyticsConfig.ready()`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from analytics.models import CustomerLTV, CustomerRFM
from crm.models import Tenant
from customers.models import Customer
from customers.privacy import PersonalDataPart, personal_rows


def export(*, tenant: Tenant, customer: Customer) -> dict[str, Any]:
    rfm = personal_rows(
        CustomerRFM.objects.for_tenant(tenant).filter(customer=customer),
        ["as_of", "segment", "r_score", "f_score", "m_score", "recency_days", "frequency", "monetary",
         "revenue_to_date", "first_transaction", "last_transaction"],
    )  # fmt: skip
    ltv = personal_rows(
        CustomerLTV.objects.for_tenant(tenant).filter(customer=customer),
        ["expected_purchases_12m", "p_alive", "expected_value_12m", "insufficient_history"],
    )
    return {"analytics": {"rfm": rfm[0] if rfm else None, "ltv": ltv[0] if ltv else None}}


def erase(*, tenant: Tenant, customer: Customer, now: datetime) -> dict[str, int]:
    return {}


PERSONAL_DATA = PersonalDataPart(export=export, erase=erase)
