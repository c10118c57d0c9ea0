"""Holdout assignment: which customers of a rule (or campaign) form its randomized control group.

A customer is held out of a rule when a stable hash of (tenant id, rule id, customer id, rule salt)
falls below the rule's share. The hash is the first 32 bits of the MD5 of
"<tenant>:<rule>:<customer>:<salt>", taken modulo HOLDOUT_BUCKETS (10,000: a share in hundredths of a
percent). It does not depend on the step, occasion or date, so a customer is held out of the rule (every
step, every year), and re-planning gives the same answer. A new salt re-draws the groups.

The same definition runs in three places, and a test proves they agree:
- PostgreSQL: `md5()` and a bit-string cast, inline in the planner's INSERT … SELECT;
- SQLite: the function `kizuna_holdout_bucket`, registered on every new connection
  (reminders.apps via `connection_created`), calling `holdout_bucket` below;
- Python: `holdout_bucket`, for tests and for anyone who must explain an assignment.
MD5 is not used for security here, only as a well-mixed function both databases can compute.
"""

from __future__ import annotations

import hashlib

HOLDOUT_BUCKETS = 10_000
SQLITE_FUNCTION = "kizuna_holdout_bucket"


def holdout_bucket(tenant_id: int, rule_id: int, customer_id: int, salt: str) -> int:
    """The customer's bucket in [0, HOLDOUT_BUCKETS) for this rule."""
    key = f"{tenant_id}:{rule_id}:{customer_id}:{salt}".encode()
    return int(hashlib.md5(key, usedforsecurity=False).hexdigest()[:8], 16) % HOLDOUT_BUCKETS


def is_held_out(tenant_id: int, rule_id: int, customer_id: int, salt: str, percent: int) -> bool:
    return percent > 0 and holdout_bucket(tenant_id, rule_id, customer_id, salt) < percent * 100


def holdout_bucket_sql(*, pg: bool, tenant: str, rule: str, customer: str, salt: str) -> str:
    """SQL expression of `holdout_bucket` over the given column expressions."""
    if pg:
        key = (
            f"CAST({tenant} AS text) || ':' || CAST({rule} AS text) || ':' || "
            f"CAST({customer} AS text) || ':' || {salt}"
        )
        return f"mod(('x' || substr(md5({key}), 1, 8))::bit(32)::bigint, {HOLDOUT_BUCKETS})"
    return f"{SQLITE_FUNCTION}({tenant}, {rule}, {customer}, {salt})"


def holdout_status_sql(
    *, pg: bool, tenant: str, rule: str, customer: str, salt: str, percent: str, held_out: str, pending: str
) -> str:
    """SQL CASE giving `held_out` or `pending`; the hash is computed only where the share is above 0."""
    bucket = holdout_bucket_sql(pg=pg, tenant=tenant, rule=rule, customer=customer, salt=salt)
    return f"CASE WHEN {percent} > 0 AND {bucket} < {percent} * 100 THEN {held_out} ELSE {pending} END"


def register_sqlite_function(sender, connection, **kwargs) -> None:
    """`connection_created` receiver: give every SQLite connection the holdout hash."""
    if connection.vendor != "sqlite":
        return
    connection.connection.create_function(SQLITE_FUNCTION, 4, holdout_bucket, deterministic=True)
