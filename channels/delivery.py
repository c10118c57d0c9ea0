"""What a channel transport tells the sender: delivered, try again later, or never.

Every transport (LINE push, SMS) raises one of these; the reminders sender maps them onto the same
state machine as e-mail: retryable → back to `queued` with backoff, permanent → `failed` with the
reason, recipient refused → `failed` and the customer's consent for that channel withdrawn.
"""

from __future__ import annotations

import uuid

# A fixed namespace: the retry key of one message must be the same in every process and every retry.
KIZUNA_NAMESPACE = uuid.UUID("6f0b0d7e-54a5-4f0c-9a83-2f1c6e0e6a10")


class DeliveryError(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class RetryableDeliveryError(DeliveryError):
    """Rate limited (429), provider 5xx, connection refused or timed out: the same request may be
    repeated later, with the same idempotency key."""

    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.retry_after = retry_after


class PermanentDeliveryError(DeliveryError):
    """The provider refused this request for good (bad message, bad credentials)."""


class RecipientRefused(PermanentDeliveryError):
    """The recipient cannot be reached on this channel (blocked the account, invalid id/number)."""


def idempotency_key(kind: str, tenant_id: int, object_id: int) -> str:
    """A UUID derived from the message's identity, so every retry of it carries the same key."""
    return str(uuid.uuid5(KIZUNA_NAMESPACE, f"kizuna.{kind}.{int(tenant_id)}.{int(object_id)}"))
