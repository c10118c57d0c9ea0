# Figures for docs/privacy.md; run inside `manage.py shell` on PostgreSQL (see the docs for the command).
"""Audit/privacy figures: audit log page with 100k events; erasure of a customer with a long history."""

import statistics
import time
from datetime import date, timedelta

from django.db import connection
from django.db.models import Sum
from django.test import Client
from django.utils import timezone

from crm.models import AuditAction, AuditEvent, User
from crm.tenancy.services import tenant_create
from customers.models import Customer, Purchase, PurchaseCategory, Vehicle
from customers.privacy import customer_erase
from interactions.models import Interaction

# A new tenant per run: a tenant with purchases cannot be deleted (Purchase.category is PROTECT).
slug = f"audit-bench-{int(time.time())}"
tenant = tenant_create(slug=slug, name="Audit bench", owner_email="bench-owner@audit.test")

owner = User.objects.get(email="bench-owner@audit.test")
now = timezone.now()
t0 = time.perf_counter()
AuditEvent.objects.bulk_create(
    [
        AuditEvent(
            tenant=tenant,
            action=AuditAction.CUSTOMER_CHANGED,
            actor_user=owner,
            actor_label=owner.email,
            ip="203.0.113.1",
            target_type="customers.customer",
            target_id=i,
            summary=f"Customer #{i}: phone",
            changes={"phone": "(changed)"},
        )
        for i in range(100_000)
    ],
    batch_size=5000,
)
print(f"bulk insert 100k events: {time.perf_counter() - t0:.1f} s")
with connection.cursor() as c:
    c.execute("ANALYZE crm_auditevent")
client = Client()
client.force_login(owner)


def timed(url, n=15, **params):
    out = []
    for _ in range(n):
        t = time.perf_counter()
        r = client.get(url, params)
        if hasattr(r, "streaming_content"):
            b"".join(r.streaming_content)
        out.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, r.status_code
    return statistics.median(out)


print(f"audit page 1 (100k events): median {timed('/settings/audit/'):.0f} ms")
print(f"audit page 1000: median {timed('/settings/audit/', page=1000):.0f} ms")
print(f"audit filtered by action: median {timed('/settings/audit/', action='api_key_created'):.0f} ms")
print(f"audit CSV of 100k: {timed('/settings/audit/', n=3, format='csv'):.0f} ms")

cat = PurchaseCategory.objects.for_tenant(tenant).get(code="parts")
c = Customer.objects.create(
    tenant=tenant, family_name="綾小路", given_name="麗華", email="r@example.jp", phone="090-1111-2222"
)
v = Vehicle.objects.create(
    tenant=tenant, customer=c, maker="トヨタ", model_name="プリウス", plate_number="品川 300 さ 12-34"
)
Purchase.objects.bulk_create(
    [
        Purchase(
            tenant=tenant,
            customer=c,
            date=date(2020, 1, 1) + timedelta(days=i),
            category=cat,
            amount=1000,
            description="綾小路様",
        )
        for i in range(2000)
    ]
)
Interaction.objects.bulk_create(
    [
        Interaction(tenant=tenant, customer=c, channel="phone", occurred_at=now, summary="綾小路様へ電話")
        for i in range(2000)
    ]
)
total = Purchase.objects.for_tenant(tenant).aggregate(s=Sum("amount"))["s"]
t = time.perf_counter()
customer_erase(tenant=tenant, customer=c, actor=owner, reason="customer_request")
elapsed_ms = (time.perf_counter() - t) * 1000
unchanged = Purchase.objects.for_tenant(tenant).aggregate(s=Sum("amount"))["s"] == total
print(
    f"erase a customer with 2,000 purchases + 2,000 interactions: {elapsed_ms:.0f} ms; "
    f"total unchanged: {unchanged}"
)
