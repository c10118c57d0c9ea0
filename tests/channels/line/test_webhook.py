"""The LINE webhook end to end: really signed bodies, follow/unfollow, messages, codes, replays, shops."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from channels import line_inbound
from channels.line_events import parse_webhook_body
from channels.line_models import LineInboundMessage, LineLinkCode
from channels.line_signature import line_signature
from channels.models import LineContact, LineWebhookEvent
from interactions.models import Channel, Direction, Interaction, InteractionSource
from tests.channels.line.conftest import (
    SECRET_A,
    SECRET_B,
    body_of,
    event,
    post_webhook,
    text_event,
    webhook_url,
)
from tests.factories import CustomerFactory
from tests.fakes.line_api import line_user_id

pytestmark = pytest.mark.django_db


def counts(tenant) -> dict[str, int]:
    """Every table the webhook can write, for "nothing changed" assertions."""
    return {
        "events": LineWebhookEvent.objects.for_tenant(tenant).count(),
        "contacts": LineContact.objects.for_tenant(tenant).count(),
        "following": LineContact.objects.for_tenant(tenant).filter(following=True).count(),
        "linked": LineContact.objects.for_tenant(tenant).filter(customer__isnull=False).count(),
        "messages": LineInboundMessage.objects.for_tenant(tenant).count(),
        "interactions": Interaction.objects.for_tenant(tenant).count(),
        "codes_used": LineLinkCode.objects.for_tenant(tenant).filter(used_at__isnull=False).count(),
    }


@pytest.fixture
def no_pushes(monkeypatch):
    """The bot's pushes after commit: recorded instead of enqueued (their own tests cover sending)."""
    sent = []
    monkeypatch.setattr(
        line_inbound.line_tasks.line_send_link_invite, "delay", lambda *a: sent.append(("invite", *a))
    )
    monkeypatch.setattr(
        line_inbound.line_tasks.line_send_linked_notice, "delay", lambda *a: sent.append(("linked", *a))
    )
    return sent


def test_follow_creates_a_following_contact_and_sends_the_link_invite(
    line_shop, tenant, user_id, no_pushes, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_webhook(
            tenant, body_of(event("follow", user_id, at_ms=1764700000000)), secret=SECRET_A
        )
    assert response.status_code == 200
    contact = LineContact.objects.for_tenant(tenant).get()
    assert (contact.line_user_id, contact.following, contact.customer_id) == (user_id, True, None)
    assert contact.followed_at.isoformat() == "2025-12-02T18:26:40+00:00"
    assert no_pushes == [("invite", tenant.pk, contact.pk)]
    stored = LineWebhookEvent.objects.for_tenant(tenant).get()
    assert (stored.event_type, stored.line_user_id, stored.is_redelivery) == ("follow", user_id, False)
    assert "reply_token" not in stored.payload


def test_verify_request_of_the_console_answers_200_and_records_nothing(line_shop, tenant):
    before = counts(tenant)
    assert post_webhook(tenant, body_of(), secret=SECRET_A).status_code == 200
    assert counts(tenant) == before


@pytest.mark.parametrize(
    "signature",
    [None, "", "AAAA", "wrong-secret"],
    ids=["missing", "empty", "garbage", "other-secret"],
)
def test_bad_signature_is_refused_and_changes_nothing(line_shop, tenant, user_id, signature, no_pushes):
    customer = CustomerFactory(tenant=tenant)
    code = line_inbound.line_link_code_issue(tenant=tenant, customer=customer, user=None)
    body = body_of(
        event("follow", user_id),
        text_event(user_id, code),
        event("unfollow", line_user_id("someone")),
    )
    before = counts(tenant)
    headers = {}
    if signature == "wrong-secret":
        response = post_webhook(tenant, body, secret="not the shop's secret")
    else:
        if signature is not None:
            headers["HTTP_X_LINE_SIGNATURE"] = signature
        response = Client().post(webhook_url(tenant), data=body, content_type="application/json", **headers)
    assert response.status_code == 401
    assert counts(tenant) == before
    assert no_pushes == []


def test_signature_over_a_different_body_is_refused(line_shop, tenant, user_id):
    signed = body_of(event("follow", user_id))
    tampered = signed.replace(b'"follow"', b'"unfollow"')
    before = counts(tenant)
    response = Client().post(
        webhook_url(tenant),
        data=tampered,
        content_type="application/json",
        HTTP_X_LINE_SIGNATURE=line_signature(channel_secret=SECRET_A, body=signed),
    )
    assert response.status_code == 401
    assert counts(tenant) == before


def test_signed_garbage_is_a_400_and_changes_nothing(line_shop, tenant):
    before = counts(tenant)
    assert post_webhook(tenant, b'{"events": "no"}', secret=SECRET_A).status_code == 400
    assert counts(tenant) == before


def test_get_is_not_allowed_and_a_forged_key_is_404(line_shop, tenant, user_id):
    assert Client().get(webhook_url(tenant)).status_code == 405
    body = body_of(event("follow", user_id))
    response = Client().post("/line/webhook/MQ:forged/", data=body, content_type="application/json")
    assert response.status_code == 404
    response = Client().post(f"/line/webhook/{tenant.pk}/", data=body, content_type="application/json")
    assert response.status_code == 404
    assert counts(tenant)["events"] == 0


def test_a_shop_without_line_settings_refuses_every_webhook(tenant, user_id):
    body = body_of(event("follow", user_id))
    assert post_webhook(tenant, body, secret="").status_code == 401
    assert post_webhook(tenant, body, secret=SECRET_A).status_code == 401
    assert LineContact.objects.for_tenant(tenant).count() == 0


def test_replayed_webhook_changes_nothing_twice(
    line_shop, tenant, user_id, no_pushes, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(tenant=tenant)
    LineContact.objects.create(
        tenant=tenant, line_user_id=user_id, customer=customer, linked_at=timezone.now()
    )
    body = body_of(
        text_event(user_id, "明日の車検、10時で大丈夫ですか?"), event("follow", line_user_id("new"))
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert post_webhook(tenant, body, secret=SECRET_A).status_code == 200
    after_first = counts(tenant)
    assert after_first["interactions"] == 1 and after_first["messages"] == 1 and after_first["events"] == 2
    pushes_after_first = list(no_pushes)
    # The same body again, as a replay; and as LINE's redelivery (isRedelivery true, same ids).
    with django_capture_on_commit_callbacks(execute=True):
        assert post_webhook(tenant, body, secret=SECRET_A).status_code == 200
        redelivered = body.replace(b'"isRedelivery": false', b'"isRedelivery": true')
        assert redelivered != body
        assert post_webhook(tenant, redelivered, secret=SECRET_A).status_code == 200
    assert counts(tenant) == after_first
    assert no_pushes == pushes_after_first
    assert line_inbound.line_webhook_events_process(tenant_id=tenant.pk, events=parse_webhook_body(body)) == [
        "duplicate",
        "duplicate",
    ]


def test_message_of_a_linked_customer_is_an_unanswered_inbound_line_interaction(line_shop, tenant, user_id):
    customer = CustomerFactory(tenant=tenant)
    LineContact.objects.create(
        tenant=tenant, line_user_id=user_id, customer=customer, linked_at=timezone.now()
    )
    post_webhook(
        tenant,
        body_of(text_event(user_id, "オイル交換の予約をしたいです", at_ms=1764700000000)),
        secret=SECRET_A,
    )
    interaction = Interaction.objects.for_tenant(tenant).get()
    assert (
        interaction.customer_id,
        interaction.channel,
        interaction.direction,
        interaction.source,
        interaction.summary,
        interaction.follow_up_needed,
        interaction.staff_id,
    ) == (
        customer.pk,
        Channel.LINE,
        Direction.INBOUND,
        InteractionSource.LINE,
        "オイル交換の予約をしたいです",
        True,
        None,
    )
    assert interaction.occurred_at.isoformat() == "2025-12-02T18:26:40+00:00"
    assert LineInboundMessage.objects.for_tenant(tenant).get().interaction_id == interaction.pk


def test_sticker_is_recorded_with_a_label(line_shop, tenant, user_id):
    customer = CustomerFactory(tenant=tenant)
    LineContact.objects.create(
        tenant=tenant, line_user_id=user_id, customer=customer, linked_at=timezone.now()
    )
    sticker = event(
        "message", user_id, message={"id": "s1", "type": "sticker", "packageId": "1", "stickerId": "2"}
    )
    post_webhook(tenant, body_of(sticker), secret=SECRET_A)
    assert Interaction.objects.for_tenant(tenant).get().summary == "[スタンプ / sticker]"


def test_message_of_an_unlinked_user_waits_and_joins_the_timeline_when_staff_link_it(
    line_shop, tenant, user_id
):
    post_webhook(tenant, body_of(text_event(user_id, "タイヤ交換はいくらですか")), secret=SECRET_A)
    message = LineInboundMessage.objects.for_tenant(tenant).get()
    assert (message.text, message.interaction_id, message.contact.customer_id) == (
        "タイヤ交換はいくらですか",
        None,
        None,
    )
    assert Interaction.objects.for_tenant(tenant).count() == 0
    customer = CustomerFactory(tenant=tenant)
    line_inbound.line_contact_link_by_staff(tenant=tenant, contact=message.contact, customer=customer)
    message.refresh_from_db()
    interaction = Interaction.objects.for_tenant(tenant).get()
    assert (interaction.customer_id, interaction.summary, interaction.follow_up_needed) == (
        customer.pk,
        "タイヤ交換はいくらですか",
        True,
    )
    assert message.interaction_id == interaction.pk


def test_linking_by_qr_code_message(
    line_shop, tenant, user_id, no_pushes, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(tenant=tenant)
    code = line_inbound.line_link_code_issue(tenant=tenant, customer=customer, user=None)
    stored = LineLinkCode.objects.for_tenant(tenant).get()
    assert code.replace("-", "") not in stored.code_hash  # only the HMAC is stored
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(
            tenant,
            body_of(event("follow", user_id), text_event(user_id, f"連携コード: {code}")),
            secret=SECRET_A,
        )
    contact = LineContact.objects.for_tenant(tenant).get()
    assert (contact.customer_id, contact.following) == (customer.pk, True)
    assert contact.linked_at is not None
    stored.refresh_from_db()
    assert stored.used_at is not None
    # The code message is the link itself, not a message for staff.
    assert (
        LineInboundMessage.objects.for_tenant(tenant).count(),
        Interaction.objects.for_tenant(tenant).count(),
    ) == (0, 0)
    assert no_pushes == [("invite", tenant.pk, contact.pk), ("linked", tenant.pk, contact.pk)]


def test_a_code_links_once_and_not_after_it_expired(line_shop, tenant, user_id):
    customer = CustomerFactory(tenant=tenant)
    code = line_inbound.line_link_code_issue(tenant=tenant, customer=customer, user=None)
    post_webhook(tenant, body_of(text_event(user_id, code)), secret=SECRET_A)
    intruder = line_user_id("intruder")
    post_webhook(tenant, body_of(text_event(intruder, code)), secret=SECRET_A)
    assert LineContact.objects.for_tenant(tenant).get(line_user_id=intruder).customer_id is None
    assert LineContact.objects.for_tenant(tenant).get(line_user_id=user_id).customer_id == customer.pk
    # An expired code is a plain message.
    second = CustomerFactory(tenant=tenant)
    old = line_inbound.line_link_code_issue(tenant=tenant, customer=second, user=None)
    LineLinkCode.objects.for_tenant(tenant).filter(customer=second).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    late = line_user_id("late")
    post_webhook(tenant, body_of(text_event(late, old)), secret=SECRET_A)
    assert LineContact.objects.for_tenant(tenant).get(line_user_id=late).customer_id is None
    assert LineInboundMessage.objects.for_tenant(tenant).filter(contact__line_user_id=late).count() == 1


def test_linking_a_second_line_account_unlinks_the_first(line_shop, tenant, user_id):
    customer = CustomerFactory(tenant=tenant)
    old = LineContact.objects.create(
        tenant=tenant, line_user_id=user_id, customer=customer, linked_at=timezone.now()
    )
    code = line_inbound.line_link_code_issue(tenant=tenant, customer=customer, user=None)
    new_phone = line_user_id("new-phone")
    post_webhook(tenant, body_of(text_event(new_phone, code)), secret=SECRET_A)
    old.refresh_from_db()
    assert old.customer_id is None
    assert LineContact.objects.for_tenant(tenant).get(customer=customer).line_user_id == new_phone


def test_unfollow_stops_line_at_once_and_follow_brings_it_back(line_shop, tenant, user_id):
    customer = CustomerFactory(tenant=tenant)
    LineContact.objects.create(
        tenant=tenant, line_user_id=user_id, customer=customer, linked_at=timezone.now()
    )
    post_webhook(tenant, body_of(event("unfollow", user_id, at_ms=1764700000000)), secret=SECRET_A)
    contact = LineContact.objects.for_tenant(tenant).get()
    assert (contact.following, contact.customer_id) == (False, customer.pk)
    assert contact.unfollowed_at.isoformat() == "2025-12-02T18:26:40+00:00"
    post_webhook(tenant, body_of(event("follow", user_id, at_ms=1764700060000)), secret=SECRET_A)
    contact.refresh_from_db()
    assert (contact.following, contact.customer_id) == (True, customer.pk)


def test_an_older_follow_delivered_late_does_not_undo_a_block(line_shop, tenant, user_id):
    post_webhook(tenant, body_of(event("unfollow", user_id, at_ms=1764700060000)), secret=SECRET_A)
    late_follow = event("follow", user_id, at_ms=1764700000000, deliveryContext={"isRedelivery": True})
    post_webhook(tenant, body_of(late_follow), secret=SECRET_A)
    assert LineContact.objects.for_tenant(tenant).get().following is False


# --- other shops ------------------------------------------------------------------------------------
def test_shop_a_body_on_shop_b_url_is_refused(line_shop, other_line_shop, tenant, other_tenant, user_id):
    body = body_of(event("follow", user_id), text_event(user_id, "hello"))
    before_a, before_b = counts(tenant), counts(other_tenant)
    assert post_webhook(other_tenant, body, secret=SECRET_A).status_code == 401
    assert (counts(tenant), counts(other_tenant)) == (before_a, before_b)
    # and the reverse
    assert post_webhook(tenant, body, secret=SECRET_B).status_code == 401
    assert (counts(tenant), counts(other_tenant)) == (before_a, before_b)


def test_shop_a_code_sent_to_shop_b_links_nothing(line_shop, other_line_shop, tenant, other_tenant, user_id):
    customer_a = CustomerFactory(tenant=tenant)
    code_a = line_inbound.line_link_code_issue(tenant=tenant, customer=customer_a, user=None)
    post_webhook(other_tenant, body_of(text_event(user_id, code_a)), secret=SECRET_B)
    contact_b = LineContact.objects.for_tenant(other_tenant).get()
    assert contact_b.customer_id is None
    assert LineContact.objects.for_tenant(tenant).count() == 0
    assert LineLinkCode.objects.for_tenant(tenant).get().used_at is None
    # The same webhookEventId at two shops is two events (unique per shop), each for its own shop.
    shared = event("follow", user_id, event_id="SAMEID")
    post_webhook(tenant, body_of(shared), secret=SECRET_A)
    post_webhook(other_tenant, body_of(shared), secret=SECRET_B)
    assert LineWebhookEvent.objects.for_tenant(tenant).filter(webhook_event_id="SAMEID").count() == 1
    assert LineWebhookEvent.objects.for_tenant(other_tenant).filter(webhook_event_id="SAMEID").count() == 1


def test_webhook_urls_of_two_shops_differ_and_carry_no_plain_id(tenant, other_tenant):
    a, b = webhook_url(tenant), webhook_url(other_tenant)
    assert a != b
    assert a != f"/line/webhook/{tenant.pk}/" and tenant.slug not in a


def test_an_event_that_fails_leaves_no_trace_and_is_applied_on_redelivery(
    line_shop, tenant, user_id, monkeypatch
):
    customer = CustomerFactory(tenant=tenant)
    LineContact.objects.create(
        tenant=tenant, line_user_id=user_id, customer=customer, linked_at=timezone.now()
    )
    follow_other = event("follow", line_user_id("other"))
    message = text_event(user_id, "見積もりをお願いします")
    real = line_inbound._message_to_timeline

    def broken(*args, **kwargs):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(line_inbound, "_message_to_timeline", broken)
    client = Client(raise_request_exception=False)
    response = post_webhook(tenant, body_of(follow_other, message), secret=SECRET_A, client=client)
    assert response.status_code == 500  # LINE redelivers the webhook
    assert (
        counts(tenant)["events"] == 1
    )  # the follow (own transaction) stays applied; the message left nothing
    assert LineInboundMessage.objects.for_tenant(tenant).count() == 0
    monkeypatch.setattr(line_inbound, "_message_to_timeline", real)
    assert post_webhook(tenant, body_of(follow_other, message), secret=SECRET_A).status_code == 200
    after = counts(tenant)
    assert (after["events"], after["messages"], after["interactions"]) == (2, 1, 1)
