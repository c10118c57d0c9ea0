"""LINE inbound: webhook events → contacts, links and timeline entries; linking; staff replies.

Every event is processed in its own transaction that first inserts its `LineWebhookEvent` row
(unique per shop on `webhookEventId`) and then applies its effect, so the row exists if and only if
the effect happened: a redelivered or replayed event finds the row and changes nothing, and an event
whose effect failed leaves no row, so LINE's redelivery applies it then.

The tenant always comes from the webhook URL (or the signed link token), never from the body.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from channels import line_outbound, line_tasks
from channels.line_events import ACCOUNT_LINK, FOLLOW, MESSAGE, UNFOLLOW, LineEvent, dispatch_event
from channels.line_linking import CODE_VALID_DAYS, link_code_candidates, link_code_hash, link_code_new
from channels.line_models import LineInboundMessage, LineLinkCode
from channels.models import LineContact, LineWebhookEvent
from crm.common.errors import ApplicationError
from crm.models import Tenant, User
from crm.tenancy.rls import tenant_context
from customers.models import Customer
from interactions.models import Channel, Direction, Interaction, InteractionSource

OUTCOME_DUPLICATE = "duplicate"

# What the timeline shows for messages without text (the content itself stays on LINE's servers).
NON_TEXT_LABELS = {
    "image": "[画像 / image]",
    "video": "[動画 / video]",
    "audio": "[音声 / audio]",
    "file": "[ファイル / file]",
    "location": "[位置情報 / location]",
    "sticker": "[スタンプ / sticker]",
}


# --- webhook -------------------------------------------------------------------------------------
def line_webhook_events_process(*, tenant_id: int, events: list[LineEvent]) -> list[str]:
    """Apply verified events of one shop, each once; returns one outcome per event (for the log/tests)."""
    return [_event_process(tenant_id=tenant_id, event=event) for event in events]


def _event_process(*, tenant_id: int, event: LineEvent) -> str:
    with tenant_context(tenant_id):
        try:
            with transaction.atomic():  # a savepoint: a duplicate must not poison the outer transaction
                LineWebhookEvent.objects.create(
                    tenant_id=tenant_id,
                    webhook_event_id=event.webhook_event_id,
                    event_type=event.line_type,
                    line_user_id=event.user_id,
                    is_redelivery=event.is_redelivery,
                    payload=_payload(event),
                )
        except IntegrityError:
            return OUTCOME_DUPLICATE
        handlers = {
            FOLLOW: lambda e: _on_follow(tenant_id, e),
            UNFOLLOW: lambda e: _on_unfollow(tenant_id, e),
            MESSAGE: lambda e: _on_message(tenant_id, e),
            ACCOUNT_LINK: lambda e: "ignored",  # Kizuna links by code or signed link, not LINE's login flow
        }
        if not event.user_id:
            return "ignored"
        return dispatch_event(event, handlers)


def _payload(event: LineEvent) -> dict:
    # The reply token is short-lived and single-use: no reason to keep it.
    data = asdict(event)
    data.pop("reply_token")
    data["occurred_at"] = event.occurred_at.isoformat()
    return data


def _contact_for_update(tenant_id: int, line_user_id: str, *, following: bool = True) -> LineContact:
    """The shop's contact of this userId, locked; created on first sight (a user who followed before
    the webhook was set up shows up with a message first)."""
    contact = (
        LineContact.objects.for_tenant(tenant_id)
        .select_for_update()
        .filter(line_user_id=line_user_id)
        .first()
    )
    if contact is None:
        contact = LineContact(tenant_id=tenant_id, line_user_id=line_user_id, following=following)
        contact.full_clean()
        contact.save()
    return contact


def _on_follow(tenant_id: int, event: LineEvent) -> str:
    contact = _contact_for_update(tenant_id, event.user_id)
    # Events can arrive out of order (redelivery): an older follow never undoes a newer block.
    if contact.unfollowed_at and contact.unfollowed_at > event.occurred_at:
        return "stale"
    contact.following = True
    contact.followed_at = event.occurred_at
    contact.last_error = ""
    contact.save(update_fields=["following", "followed_at", "last_error", "updated_at"])
    if contact.customer_id is None:
        _after_commit_send_link_invite(tenant_id, contact.pk)
    return "followed"


def _on_unfollow(tenant_id: int, event: LineEvent) -> str:
    contact = _contact_for_update(tenant_id, event.user_id, following=False)
    if contact.followed_at and contact.followed_at > event.occurred_at:
        return "stale"
    # `following` is the LINE consent the sender re-checks right before each push: False here stops
    # every planned LINE reminder of this customer from now on.
    contact.following = False
    contact.unfollowed_at = event.occurred_at
    contact.save(update_fields=["following", "unfollowed_at", "updated_at"])
    return "unfollowed"


def _on_message(tenant_id: int, event: LineEvent) -> str:
    contact = _contact_for_update(tenant_id, event.user_id)
    if event.text:
        code = _open_code_in(tenant_id, event.text)
        if code is not None:
            _link(tenant_id=tenant_id, contact=contact, customer=code.customer, at=event.occurred_at)
            code.used_at = event.occurred_at
            code.save(update_fields=["used_at"])
            _after_commit_send_linked_notice(tenant_id, contact.pk)
            return "linked"
    if not event.message_id:
        return "ignored"
    message = LineInboundMessage(
        tenant_id=tenant_id,
        contact=contact,
        line_message_id=event.message_id,
        message_type=event.message_type,
        text=event.text,
        sent_at=event.occurred_at,
    )
    message.full_clean(exclude=["contact", "interaction"])
    message.save()
    if contact.customer_id is None:
        return "waiting for link"
    _message_to_timeline(message, contact.customer)
    return "recorded"


def _open_code_in(tenant_id: int, text: str) -> LineLinkCode | None:
    hashes = [link_code_hash(tenant_id=tenant_id, code=c) for c in link_code_candidates(text)]
    if not hashes:
        return None
    return (
        LineLinkCode.objects.for_tenant(tenant_id)
        .select_for_update()
        .select_related("customer")
        .filter(code_hash__in=hashes, used_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )


def _message_to_timeline(message: LineInboundMessage, customer: Customer) -> Interaction:
    """The message as an inbound LINE interaction that waits on Today until answered or marked done."""
    interaction = Interaction(
        tenant_id=message.tenant_id,
        customer=customer,
        channel=Channel.LINE,
        direction=Direction.INBOUND,
        occurred_at=message.sent_at,
        summary=message.text or NON_TEXT_LABELS.get(message.message_type, f"[{message.message_type}]"),
        follow_up_needed=True,
        source=InteractionSource.LINE,
    )
    interaction.full_clean()
    interaction.save()
    message.interaction = interaction
    message.save(update_fields=["interaction"])
    return interaction


def _link(*, tenant_id: int, contact: LineContact, customer: Customer, at) -> None:
    """Point `contact` at `customer` (one LINE user per customer) and bring its waiting messages over."""
    if customer.tenant_id != tenant_id:  # never reached through scoped lookups; a last guard
        raise ValueError("customer of another shop")
    previous = (
        LineContact.objects.for_tenant(tenant_id).filter(customer=customer).exclude(pk=contact.pk).first()
    )
    if previous is not None:
        previous.customer = None
        previous.linked_at = None
        previous.save(update_fields=["customer", "linked_at", "updated_at"])
    if contact.customer_id != customer.pk:
        contact.customer = customer
        contact.linked_at = at
        contact.full_clean()
        contact.save(update_fields=["customer", "linked_at", "updated_at"])
    waiting = LineInboundMessage.objects.for_tenant(tenant_id).filter(
        contact=contact, interaction__isnull=True
    )
    for message in waiting.order_by("sent_at", "pk"):
        _message_to_timeline(message, customer)


# --- link codes and the signed link page ---------------------------------------------------------
@transaction.atomic
def line_link_code_issue(*, tenant: Tenant, customer: Customer, user: User | None) -> str:
    """A new one-time code for `customer` (returned in clear once; stored as an HMAC)."""
    if customer.tenant_id != tenant.pk:
        raise ValueError("customer of another shop")
    for _attempt in range(5):  # a collision among a shop's codes is ~1e-9; retry rather than fail
        code = link_code_new()
        row = LineLinkCode(
            tenant=tenant,
            customer=customer,
            code_hash=link_code_hash(tenant_id=tenant.pk, code=code),
            expires_at=timezone.now() + timedelta(days=CODE_VALID_DAYS),
            created_by=user,
        )
        try:
            with transaction.atomic():
                row.save()
        except IntegrityError:
            continue
        return code
    raise RuntimeError("could not draw a unique link code")


class LinkRefused(Exception):
    """What the customer typed on the link page does not identify one customer of this shop."""


def line_link_by_code(*, tenant_id: int, line_user_id: str, code: str) -> Customer:
    """The link page with the code the counter gave: link the LINE user of the signed token."""
    with tenant_context(tenant_id):
        row = _open_code_in(tenant_id, code)
        if row is None:
            raise LinkRefused
        contact = _contact_for_update(tenant_id, line_user_id)
        now = timezone.now()
        _link(tenant_id=tenant_id, contact=contact, customer=row.customer, at=now)
        row.used_at = now
        row.save(update_fields=["used_at"])
        _after_commit_send_linked_notice(tenant_id, contact.pk)
        return row.customer


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def _plate_key(value: str) -> str:
    return "".join(value.split())


def line_link_by_phone_and_plate(*, tenant_id: int, line_user_id: str, phone: str, plate: str) -> Customer:
    """The link page with phone number + plate number: link only when exactly one customer matches both."""
    phone_digits = _digits(phone)
    plate_key = _plate_key(plate)
    if len(phone_digits) < 9 or len(plate_key) < 3:
        raise LinkRefused
    with tenant_context(tenant_id):
        candidates = (
            Customer.objects.for_tenant(tenant_id)
            # A rare page: narrow by the last digits (format-independent), compare exactly in Python.
            .filter(phone__endswith=phone_digits[-3:])
            .prefetch_related("vehicles")
            .distinct()[:50]
        )
        matches = [
            c
            for c in candidates
            if _digits(c.phone) == phone_digits
            and any(_plate_key(v.plate_number) == plate_key for v in c.vehicles.all())
        ]
        if len(matches) != 1:
            raise LinkRefused
        contact = _contact_for_update(tenant_id, line_user_id)
        _link(tenant_id=tenant_id, contact=contact, customer=matches[0], at=timezone.now())
        _after_commit_send_linked_notice(tenant_id, contact.pk)
        return matches[0]


@transaction.atomic
def line_contact_link_by_staff(*, tenant: Tenant, contact: LineContact, customer: Customer) -> LineContact:
    """Staff link a LINE user who wrote before linking (the inbox list) to a customer."""
    if contact.tenant_id != tenant.pk or customer.tenant_id != tenant.pk:
        raise ValueError("row of another shop")
    contact = LineContact.objects.for_tenant(tenant).select_for_update().get(pk=contact.pk)
    _link(tenant_id=tenant.pk, contact=contact, customer=customer, at=timezone.now())
    return contact


# --- Today / replies -----------------------------------------------------------------------------
def line_reply_send(
    *, tenant: Tenant, customer: Customer, staff: User, text: str, nonce: uuid.UUID
) -> Interaction:
    """Staff reply from the Customer 360: a push to the customer's LINE, then logged as an outbound
    interaction that also answers every open inbound LINE message of the customer.

    The push runs outside any transaction (LINE may take seconds); its retry key comes from the form's
    nonce, so a double submit of one form shows the customer one message.
    Raises ApplicationError with the reason.
    """
    if customer.tenant_id != tenant.pk:
        raise ValueError("customer of another shop")
    contact = LineContact.objects.for_tenant(tenant).filter(customer=customer).first()
    if contact is None:
        raise ApplicationError(_("This customer is not linked to LINE."))
    if not contact.following:
        raise ApplicationError(_("This customer has blocked the shop's LINE account."))
    key = line_outbound.retry_key(tenant.pk, "reply", nonce)
    try:
        line_outbound.line_push_text(
            tenant_id=tenant.pk, line_user_id=contact.line_user_id, text=text, key=key
        )
    except (line_outbound.LinePushFailed, line_outbound.LinePushRetryable) as exc:
        raise ApplicationError(_("LINE did not accept the message: %(reason)s") % {"reason": exc}) from exc
    with transaction.atomic():
        now = timezone.now()
        interaction = Interaction(
            tenant=tenant,
            customer=customer,
            staff=staff,
            channel=Channel.LINE,
            direction=Direction.OUTBOUND,
            occurred_at=now,
            summary=text,
            source=InteractionSource.LINE,
        )
        interaction.full_clean()
        interaction.save()
        Interaction.objects.for_tenant(tenant).filter(
            customer=customer, channel=Channel.LINE, direction=Direction.INBOUND, follow_up_needed=True
        ).update(follow_up_needed=False, updated_at=now)
    return interaction


@transaction.atomic
def line_message_mark_done(*, tenant: Tenant, interaction: Interaction) -> None:
    """Take an inbound LINE message off "unanswered" without replying on LINE (e.g. answered by phone)."""
    Interaction.objects.for_tenant(tenant).filter(
        pk=interaction.pk, channel=Channel.LINE, direction=Direction.INBOUND
    ).update(follow_up_needed=False, updated_at=timezone.now())


def _after_commit_send_link_invite(tenant_id: int, contact_id: int) -> None:
    transaction.on_commit(lambda: line_tasks.line_send_link_invite.delay(tenant_id, contact_id))


def _after_commit_send_linked_notice(tenant_id: int, contact_id: int) -> None:
    transaction.on_commit(lambda: line_tasks.line_send_linked_notice.delay(tenant_id, contact_id))
