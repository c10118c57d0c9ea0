"""Celery tasks of LINE inbound: the bot's pushes after a follow or a link (never on the webhook path).

The webhook answers LINE as soon as its events are committed; a push to LINE (seconds when LINE is
slow) runs here. Thin and idempotent: ids in, `tenant_id` first; the X-Line-Retry-Key is derived from
the contact and the purpose, so a task delivered twice is shown once (LINE answers the retry 409).
"""

from __future__ import annotations

from celery import shared_task

from channels import line_outbound


@shared_task(bind=True, max_retries=5, default_retry_delay=30)
def line_send_link_invite(self, tenant_id: int, contact_id: int) -> str:
    """After a follow of a user not linked yet: the signed link to the link page."""
    try:
        return line_outbound.link_invite_send(tenant_id=tenant_id, contact_id=contact_id)
    except line_outbound.LinePushRetryable as exc:
        raise self.retry(exc=exc) from exc


line_send_link_invite.multi_transaction = True  # reads, then pushes outside any transaction


@shared_task(bind=True, max_retries=5, default_retry_delay=30)
def line_send_linked_notice(self, tenant_id: int, contact_id: int) -> str:
    """After linking: "you are now linked to <shop>" (the customer sees it worked)."""
    try:
        return line_outbound.linked_notice_send(tenant_id=tenant_id, contact_id=contact_id)
    except line_outbound.LinePushRetryable as exc:
        raise self.retry(exc=exc) from exc


line_send_linked_notice.multi_transaction = True
