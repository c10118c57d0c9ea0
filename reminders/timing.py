"""The timing the dispatcher, the sweeper and the sender agree on: leases, retries and their backoff.

Its own module because both sides need it: `reminders.dispatch` (the sweeper's leases) and
`reminders.sending` (the batch deadline, retries), and the sender also calls into the dispatcher.
"""

from __future__ import annotations

import os

from django.conf import settings


def _setting(name: str, default: int) -> int:
    """Tunables: settings first, then the environment (lets tests shorten them for a worker subprocess)."""
    return int(getattr(settings, name, os.environ.get(name, default)))


def retry_base_seconds() -> int:
    return _setting("REMINDER_RETRY_BASE_SECONDS", 60)


def retry_cap_seconds() -> int:
    # Stays below the broker's visibility_timeout (3600 s): a countdown longer than that would make
    # Redis redeliver the waiting task to a second worker.
    return min(_setting("REMINDER_RETRY_CAP_SECONDS", 1800), 3000)


def max_attempts() -> int:
    return _setting("REMINDER_MAX_ATTEMPTS", 8)


def sending_lease_seconds() -> int:
    return _setting("REMINDER_SENDING_LEASE_SECONDS", 900)


def queued_lease_seconds() -> int:
    return _setting("REMINDER_QUEUED_LEASE_SECONDS", 3900)


def backoff_seconds(attempt: int) -> int:
    return min(retry_base_seconds() * 2 ** max(attempt - 1, 0), retry_cap_seconds())
