"""What LINE inbound sends (through the fake LINE API): the link invitation, the linked notice, replies."""

from __future__ import annotations

import re
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from channels import line_inbound, line_tasks
from channels.line_linking import link_token_read
from channels.models import LineContact
from crm.celery import app as celery_app
from crm.common.errors import ApplicationError
from interactions.models import Channel, Direction, Interaction, InteractionSource
from tests.channels.line.conftest import SECRET_A, body_of, event, post_webhook, text_event
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def linked(tenant, user_id):
    customer = CustomerFactory(tenant=tenant, family_name="鈴木")
    LineContact.objects.create(
        tenant=tenant,
        line_user_id=user_id,
        customer=customer,
        linked_at=timezone.now(),
        followed_at=timezone.now(),
    )
    return customer


@pytest.fixture
def eager_tasks():
    """Celery runs tasks in-process. Its app reads the setting once, so the Django setting alone is not
    enough once an earlier test has used the app: set the app's own configuration."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


def test_follow_of_a_new_user_pushes_a_signed_link_to_the_link_page(
    line_shop, line_api, tenant, user_id, django_capture_on_commit_callbacks, eager_tasks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert post_webhook(tenant, body_of(event("follow", user_id)), secret=SECRET_A).status_code == 200
    (push,) = line_api.delivered_to(user_id)
    text = push["messages"][0]["text"]
    assert tenant.name in text
    token = re.search(r"/line/link/([^/\s]+)/", text).group(1)
    assert link_token_read(token) == (tenant.pk, user_id)
    # The same task again (a redelivered Celery message): LINE shows it once (same retry key → 409).
    contact = LineContact.objects.for_tenant(tenant).get()
    assert line_tasks.line_send_link_invite.apply(args=(tenant.pk, contact.pk)).get() == "sent"
    assert len(line_api.delivered_to(user_id)) == 1


def test_linking_by_code_pushes_the_linked_notice_once(
    line_shop, line_api, tenant, user_id, django_capture_on_commit_callbacks, eager_tasks
):
    customer = CustomerFactory(tenant=tenant)
    code = line_inbound.line_link_code_issue(tenant=tenant, customer=customer, user=None)
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(tenant, body_of(text_event(user_id, code)), secret=SECRET_A)
    (push,) = line_api.delivered_to(user_id)
    assert tenant.name in push["messages"][0]["text"]


def test_no_invite_for_a_user_already_linked_or_blocked(line_shop, line_api, tenant, user_id, linked):
    contact = LineContact.objects.for_tenant(tenant).get()
    assert line_tasks.line_send_link_invite.apply(args=(tenant.pk, contact.pk)).get() == "skipped"
    contact.following = False
    contact.save()
    assert line_tasks.line_send_linked_notice.apply(args=(tenant.pk, contact.pk)).get() == "skipped"
    assert line_api.delivered == []


def test_reply_from_the_customer_360_is_pushed_logged_and_answers_open_messages(
    line_shop, line_api, tenant, staff, staff_client, user_id, linked
):
    post_webhook(tenant, body_of(text_event(user_id, "来週オイル交換できますか")), secret=SECRET_A)
    inbound = Interaction.objects.for_tenant(tenant).get()
    assert inbound.follow_up_needed is True
    nonce = str(uuid.uuid4())
    url = reverse("line:reply", args=[linked.pk])
    response = staff_client.post(
        url, {"text": "はい、火曜日の10時はいかがですか", "nonce": nonce}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert 'id="line-panel"' in response.content.decode()
    (push,) = line_api.delivered_to(user_id)
    assert push["messages"] == [{"type": "text", "text": "はい、火曜日の10時はいかがですか"}]
    reply = Interaction.objects.for_tenant(tenant).get(direction=Direction.OUTBOUND)
    assert (reply.channel, reply.staff_id, reply.source, reply.summary, reply.customer_id) == (
        Channel.LINE,
        staff.pk,
        InteractionSource.LINE,
        "はい、火曜日の10時はいかがですか",
        linked.pk,
    )
    inbound.refresh_from_db()
    assert inbound.follow_up_needed is False
    # A double submit of the same form: LINE shows one message.
    staff_client.post(
        url, {"text": "はい、火曜日の10時はいかがですか", "nonce": nonce}, HTTP_HX_REQUEST="true"
    )
    assert len(line_api.delivered_to(user_id)) == 1


def test_reply_to_a_customer_who_blocked_is_refused_clearly_and_not_logged(
    line_shop, line_api, tenant, staff, staff_client, user_id, linked
):
    line_api.blocked.add(user_id)  # LINE knows before Kizuna does (no unfollow event yet)
    url = reverse("line:reply", args=[linked.pk])
    response = staff_client.post(
        url, {"text": "こんにちは", "nonce": str(uuid.uuid4())}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 502
    html = response.content.decode()
    assert 'role="alert"' in html and "こんにちは" in html  # the typed text stays in the box
    assert Interaction.objects.for_tenant(tenant).count() == 0


def test_reply_without_link_or_after_unfollow_is_refused(line_shop, tenant, staff, user_id, linked):
    other = CustomerFactory(tenant=tenant)
    with pytest.raises(ApplicationError):
        line_inbound.line_reply_send(tenant=tenant, customer=other, staff=staff, text="x", nonce=uuid.uuid4())
    post_webhook(tenant, body_of(event("unfollow", user_id)), secret=SECRET_A)
    with pytest.raises(ApplicationError):
        line_inbound.line_reply_send(
            tenant=tenant, customer=linked, staff=staff, text="x", nonce=uuid.uuid4()
        )
    assert Interaction.objects.for_tenant(tenant).count() == 0


def test_reply_without_javascript_redirects_to_the_360(
    line_shop, line_api, tenant, staff_client, user_id, linked
):
    response = staff_client.post(
        reverse("line:reply", args=[linked.pk]), {"text": "了解です", "nonce": str(uuid.uuid4())}
    )
    assert response.status_code == 302 and response.url == reverse("customers:detail", args=[linked.pk])
    assert len(line_api.delivered_to(user_id)) == 1
