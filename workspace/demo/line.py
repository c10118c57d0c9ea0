"""Demo LINE followers, so `make run` shows LINE on the channel settings, the Customer 360 and Today.

About a third of a demo shop's customers follow its LINE account (a few of them have blocked it
since), some asked for LINE only or for e-mail first, and a handful of messages wait in the inbox:
from linked customers (on their timeline and on Today, unanswered) and from two followers nobody has
linked yet (the LINE inbox, to link by hand). The shop's LINE backend stays the outbox
(LINE_BACKEND's default): whatever the demo sends on LINE is written under var/, never sent.

Followers are written directly; their messages go through the webhook's own service
(channels.line_inbound.line_webhook_events_process), as if LINE had delivered them. No follow event
is replayed: for an unlinked user it would push the link invitation. Every id is derived from
(shop, seed, n), so a reseed makes the same rows; the earlier run's LINE rows, which the reset's
customer deletion leaves behind unlinked, are removed first.
"""

from __future__ import annotations

import hashlib
import random
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from channels.line_events import MESSAGE, LineEvent
from channels.line_inbound import line_webhook_events_process
from channels.models import CustomerChannelPreference, LineContact, LineWebhookEvent
from channels.services import channel_settings_update
from crm.models import Tenant
from customers.models import Customer
from workspace.demo.generator import JST

FOLLOWER_SHARE = 0.35  # of the shop's customers
BLOCKED_SHARE = 0.06  # of the followers: blocked the account since (LINE opt-out)
LINE_ONLY = 6  # followers who asked for LINE only
EMAIL_FIRST = 3  # followers who asked for e-mail first, then LINE
UNLINKED_FOLLOWERS = 2  # followed, wrote, not linked to a customer yet

MESSAGES_FROM_CUSTOMERS = (
    "車検の予約をしたいのですが、来週の土曜日は空いていますか？",
    "オイル交換の見積もりをお願いします。",
    "スタッドレスタイヤへの交換はいくらくらいですか？",
    "点検の時間を午後に変更できますか？",
    "代車はお借りできますか？",
)
MESSAGES_FROM_UNLINKED = (
    "はじめまして。先月そちらで車を買った者です。",
    "12ヶ月点検のご案内が届きました。予約はここからできますか？",
)


def _digest(*parts: object) -> str:
    return hashlib.sha256("/".join(str(p) for p in parts).encode()).hexdigest()


def _user_id(tenant: Tenant, seed: int, n: int) -> str:
    return "U" + _digest("demo-line-user", tenant.slug, seed, n)[:32]


def _at(day: date, rng: random.Random) -> datetime:
    return datetime.combine(day, time(rng.randint(8, 21), rng.randint(0, 59)), JST)


def _not_later_than_now(at: datetime) -> datetime:
    # Seeded in the morning, a message "from today at 21:00" would come from the future.
    now = timezone.now()
    return at if at <= now else at - timedelta(days=1)


def seed_line(*, tenant: Tenant, today: date, seed: int) -> dict[str, int]:
    """Give the shop its LINE account's basic ID, followers and a few waiting messages.

    Returns the counts (followers, blocked, preferences, messages). Run once per seeding of the
    shop's customers (seed_demo); running it again for the same customers refuses nothing and
    duplicates nothing: it replaces the rows of the same seed.
    """
    rng = random.Random(f"{seed}-line-{tenant.slug}")
    customers = list(
        Customer.objects.for_tenant(tenant)
        .filter(erased_at__isnull=True)
        .order_by("pk")
        .values_list("pk", "given_name")
    )
    followers = [c for c in customers if rng.random() < FOLLOWER_SHARE]
    user_ids = [_user_id(tenant, seed, n) for n in range(len(followers) + UNLINKED_FOLLOWERS)]
    _remove_earlier(tenant, user_ids)
    channel_settings_update(
        tenant=tenant, line_channel_id="2000000000", line_basic_id="@" + _digest(tenant.slug)[:3] + "demo"
    )

    contacts = []
    blocked = 0
    for n, (customer_id, given_name) in enumerate(followers):
        followed = _at(today - timedelta(days=rng.randint(3, 900)), rng)
        is_blocked = rng.random() < BLOCKED_SHARE
        blocked += is_blocked
        contacts.append(
            LineContact(
                tenant=tenant,
                line_user_id=user_ids[n],
                customer_id=customer_id,
                display_name=given_name,
                following=not is_blocked,
                followed_at=followed,
                linked_at=followed + timedelta(minutes=rng.randint(1, 30)),
                unfollowed_at=followed + timedelta(days=rng.randint(1, 60)) if is_blocked else None,
            )
        )
    for n in range(len(followers), len(user_ids)):
        followed = _at(today - timedelta(days=rng.randint(1, 5)), rng)
        contacts.append(
            LineContact(tenant=tenant, line_user_id=user_ids[n], followed_at=followed, display_name="")
        )
    LineContact.objects.for_tenant(tenant).bulk_create(contacts, batch_size=1000)

    following = [c for c in contacts if c.customer_id and c.following]
    chosen = rng.sample(following, min(len(following), LINE_ONLY + EMAIL_FIRST))
    CustomerChannelPreference.objects.for_tenant(tenant).filter(
        customer_id__in=[c.customer_id for c in chosen]
    ).delete()
    CustomerChannelPreference.objects.for_tenant(tenant).bulk_create(
        [
            CustomerChannelPreference(
                tenant=tenant,
                customer_id=c.customer_id,
                channel_order="line" if i < LINE_ONLY else "email,line",
            )
            for i, c in enumerate(chosen)
        ]
    )

    senders = rng.sample(following, min(len(following), len(MESSAGES_FROM_CUSTOMERS)))
    texts = [(c.line_user_id, text) for c, text in zip(senders, MESSAGES_FROM_CUSTOMERS, strict=False)]
    texts += list(zip(user_ids[len(followers) :], MESSAGES_FROM_UNLINKED, strict=True))
    events = [
        LineEvent(
            kind=MESSAGE,
            webhook_event_id="demo" + _digest("event", tenant.slug, seed, n)[:26],
            line_type=MESSAGE,
            occurred_at=_not_later_than_now(_at(today - timedelta(days=rng.randint(0, 2)), rng)),
            is_redelivery=False,
            user_id=user_id,
            message_id=str(int(_digest("message", tenant.slug, seed, n)[:15], 16)),
            message_type="text",
            text=text,
        )
        for n, (user_id, text) in enumerate(texts)
    ]
    outcomes = line_webhook_events_process(tenant_id=tenant.pk, events=events)
    return {
        "line_followers": len(followers) - blocked,
        "line_blocked": blocked,
        "line_unlinked": UNLINKED_FOLLOWERS,
        "line_preferences": len(chosen),
        "line_messages": sum(o in ("recorded", "waiting for link") for o in outcomes),
    }


def _remove_earlier(tenant: Tenant, user_ids: list[str]) -> None:
    """A reseed's customers are new rows: the same seed's LINE users of the last run go first (their
    messages with them), and so do their webhook events, whose ids would otherwise mark the new
    messages as already delivered."""
    LineContact.objects.for_tenant(tenant).filter(line_user_id__in=user_ids).delete()
    LineWebhookEvent.objects.for_tenant(tenant).filter(line_user_id__in=user_ids).delete()
