"""The bot's own messages on the inbound side, and staff replies: built here, pushed by the LINE client.

Every push carries an X-Line-Retry-Key derived from what it is (uuid5 of tenant, contact and purpose
or the reply's id), so a task or request run twice shows the customer one message.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from channels.delivery import PermanentDeliveryError, RetryableDeliveryError
from channels.line import build_messages, line_backend
from channels.line_linking import link_token_make
from channels.models import LineContact
from crm.models import Tenant
from crm.tenancy.rls import tenant_context

RETRY_KEY_NAMESPACE = uuid.UUID("6f1c7a52-9d0e-4c83-a4a1-0c2b5e7d9f31")


class LinePushFailed(Exception):
    """LINE refused the push for good (not a friend, bad token): shown to staff, not retried."""


class LinePushRetryable(Exception):
    """LINE or the network failed for now (429, 5xx, timeout): worth another try later."""


def retry_key(*parts: object) -> str:
    return str(uuid.uuid5(RETRY_KEY_NAMESPACE, ":".join(str(p) for p in parts)))


def link_page_url(*, tenant_id: int, line_user_id: str) -> str:
    token = link_token_make(tenant_id=tenant_id, line_user_id=line_user_id)
    return settings.SITE_URL.rstrip("/") + reverse("line:link_page", args=[token])


def _contact(tenant_id: int, contact_id: int) -> LineContact | None:
    with tenant_context(tenant_id):
        return LineContact.objects.for_tenant(tenant_id).filter(pk=contact_id).first()


def link_invite_send(*, tenant_id: int, contact_id: int) -> str:
    """Push the signed link to a follower who is not linked yet (skipped once linked or blocked)."""
    contact = _contact(tenant_id, contact_id)
    if contact is None or contact.customer_id is not None or not contact.following:
        return "skipped"
    shop = Tenant.objects.get(pk=tenant_id)
    url = link_page_url(tenant_id=tenant_id, line_user_id=contact.line_user_id)
    with translation.override("ja"):
        text = _(
            "Thank you for adding %(shop)s as a friend. To receive your inspection and service reminders "
            "on LINE, open this page and enter the code from the counter, or your phone number and plate "
            "number:\n%(url)s"
        ) % {"shop": shop.name, "url": url}
    line_push_text(
        tenant_id=tenant_id,
        line_user_id=contact.line_user_id,
        text=text,
        key=retry_key(tenant_id, contact.pk, "invite", contact.followed_at),
    )
    return "sent"


def linked_notice_send(*, tenant_id: int, contact_id: int) -> str:
    contact = _contact(tenant_id, contact_id)
    if contact is None or contact.customer_id is None or not contact.following:
        return "skipped"
    shop = Tenant.objects.get(pk=tenant_id)
    with translation.override("ja"):
        text = _("Your LINE is now linked to %(shop)s. We will send your reminders here.") % {
            "shop": shop.name
        }
    line_push_text(
        tenant_id=tenant_id,
        line_user_id=contact.line_user_id,
        text=text,
        key=retry_key(tenant_id, contact.pk, "linked", contact.customer_id, contact.linked_at),
    )
    return "sent"


def line_push_text(*, tenant_id: int, line_user_id: str, text: str, key: str) -> str:
    """One text message to one LINE user through the shop's channel (channels.line: outbox or HTTP).

    Returns LINE's request id (a repeat of an accepted retry key counts as sent). Call it outside
    any transaction: LINE may take seconds.
    """
    with tenant_context(tenant_id):  # the backend reads the shop's credentials (row-level security)
        backend = line_backend(tenant_id)
    try:
        return backend.push(to=line_user_id, messages=build_messages(text=text), retry_key=key)
    except RetryableDeliveryError as exc:
        raise LinePushRetryable(exc.reason) from exc
    except PermanentDeliveryError as exc:  # incl. RecipientRefused (blocked, not a friend)
        raise LinePushFailed(exc.reason) from exc
    finally:
        backend.close()
