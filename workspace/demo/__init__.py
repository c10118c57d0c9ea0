"""Deterministic, realistic demo data for a dealership or a garage (`manage.py seed_demo`).

Every value comes from one `random.Random` seeded by (seed, kind, stream), and every date is relative
to `today`, so the same seed on the same day gives the same data. Rows are generated in Python and
written with `crm.db.bulk.bulk_insert` (COPY on PostgreSQL), never one `save()` per row: 100,000
customers with about a million purchase and service rows load in well under two minutes.

It lives in the workspace layer because it fills several apps at once. One module per domain:
`shops` (tenants and their staff), `people` (customers and households, the per-customer loop),
`vehicles`, `history` (purchases and service records), `contacts` (interactions, deals, call tasks),
on the shared state of `generator`; `seed.seed_tenant` generates and loads one tenant.
"""

from workspace.demo.seed import seed_tenant
from workspace.demo.shops import DEMO_TENANTS, demo_tenant_with_staff, demo_users

__all__ = ["DEMO_TENANTS", "demo_tenant_with_staff", "demo_users", "seed_tenant"]
