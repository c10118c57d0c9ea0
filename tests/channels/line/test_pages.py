"""LINE inbound pages: the customer's link page (public, signed token) and the staff pages, across shops."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from channels import line_inbound
from channels.line_linking import link_token_make
from channels.line_models import LineLinkCode
from channels.line_selectors import line_webhook_url
from channels.line_views import LINK_PAGE_MAX_TRIES
from channels.models import LineContact
from interactions.models import Channel, Direction, Interaction
from reminders.services import unsubscribe_token
from tests.channels.line.conftest import SECRET_A, body_of, post_webhook, text_event, webhook_url
from tests.factories import CustomerFactory, VehicleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _no_pushes(monkeypatch):
    monkeypatch.setattr(line_inbound.line_tasks.line_send_link_invite, "delay", lambda *a: None)
    monkeypatch.setattr(line_inbound.line_tasks.line_send_linked_notice, "delay", lambda *a: None)


def link_page(tenant, user):
    return reverse("line:link_page", args=[link_token_make(tenant_id=tenant.pk, line_user_id=user)])


# --- the link page (linking by signed link) ----------------------------------------------------
def test_link_page_shows_the_shop_and_a_form(line_shop, tenant, user_id):
    response = Client().get(link_page(tenant, user_id))
    assert response.status_code == 200
    assert tenant.name in response.content.decode()
    assert response.headers["Cache-Control"].startswith("max-age=0")


def test_linking_by_link_with_the_code_from_the_counter(line_shop, tenant, user_id):
    customer = CustomerFactory(tenant=tenant)
    code = line_inbound.line_link_code_issue(tenant=tenant, customer=customer, user=None)
    response = Client().post(link_page(tenant, user_id), {"code": code.lower().replace("-", " ")})
    assert response.status_code == 200
    assert 'id="line-linked"' in response.content.decode()
    contact = LineContact.objects.for_tenant(tenant).get()
    assert (contact.line_user_id, contact.customer_id) == (user_id, customer.pk)
    assert LineLinkCode.objects.for_tenant(tenant).get().used_at is not None


def test_linking_by_link_with_phone_and_plate(line_shop, tenant, user_id):
    customer = CustomerFactory(tenant=tenant, phone="090-2222-3333")
    VehicleFactory(customer=customer, plate_number="品川 300 さ 12-34")
    CustomerFactory(tenant=tenant, phone="090-2222-3333")  # same phone, no such plate: not a match
    response = Client().post(link_page(tenant, user_id), {"phone": "09022223333", "plate": "品川300さ12-34"})
    assert response.status_code == 200
    assert LineContact.objects.for_tenant(tenant).get().customer_id == customer.pk


def test_phone_and_plate_of_two_customers_link_nobody(line_shop, tenant, user_id):
    for _ in range(2):
        VehicleFactory(
            customer=CustomerFactory(tenant=tenant, phone="090-2222-3333"), plate_number="品川 300 さ 12-34"
        )
    response = Client().post(
        link_page(tenant, user_id), {"phone": "090-2222-3333", "plate": "品川 300 さ 12-34"}
    )
    assert response.status_code == 400
    assert LineContact.objects.filter(tenant=tenant, customer__isnull=False).count() == 0


def test_wrong_details_are_refused_and_the_page_locks_after_some_tries(line_shop, tenant, user_id):
    customer = CustomerFactory(tenant=tenant)
    code = line_inbound.line_link_code_issue(tenant=tenant, customer=customer, user=None)
    url = link_page(tenant, user_id)
    for _ in range(LINK_PAGE_MAX_TRIES):
        assert Client().post(url, {"code": "ZZZZ-ZZZZ"}).status_code == 400
    # Even the right code does nothing now.
    response = Client().post(url, {"code": code})
    assert response.status_code == 400
    assert LineContact.objects.filter(tenant=tenant, customer__isnull=False).count() == 0
    assert LineLinkCode.objects.for_tenant(tenant).get().used_at is None


def test_empty_form_is_a_400(line_shop, tenant, user_id):
    assert Client().post(link_page(tenant, user_id), {}).status_code == 400


def test_forged_or_other_purpose_tokens_are_404(line_shop, tenant):
    assert Client().get("/line/link/garbage/").status_code == 404
    customer = CustomerFactory(tenant=tenant)
    assert (
        Client()
        .get(f"/line/link/{unsubscribe_token(tenant_id=tenant.pk, customer_id=customer.pk)}/")
        .status_code
        == 404
    )


def test_shop_a_code_on_shop_b_link_page_links_nothing(
    line_shop, other_line_shop, tenant, other_tenant, user_id
):
    customer_a = CustomerFactory(tenant=tenant)
    code_a = line_inbound.line_link_code_issue(tenant=tenant, customer=customer_a, user=None)
    response = Client().post(link_page(other_tenant, user_id), {"code": code_a})
    assert response.status_code == 400
    assert LineContact.objects.filter(tenant__in=[tenant, other_tenant]).count() == 0
    assert LineLinkCode.objects.for_tenant(tenant).get().used_at is None


def test_shop_a_phone_and_plate_on_shop_b_link_page_links_nothing(
    line_shop, other_line_shop, tenant, other_tenant, user_id
):
    VehicleFactory(
        customer=CustomerFactory(tenant=tenant, phone="090-2222-3333"), plate_number="品川 300 さ 12-34"
    )
    response = Client().post(
        link_page(other_tenant, user_id), {"phone": "090-2222-3333", "plate": "品川 300 さ 12-34"}
    )
    assert response.status_code == 400
    assert LineContact.objects.filter(tenant__in=[tenant, other_tenant]).count() == 0


# --- staff pages ---------------------------------------------------------------------------------
def _inbound(tenant, customer, text="予約できますか"):
    return Interaction.objects.create(
        tenant=tenant,
        customer=customer,
        channel=Channel.LINE,
        direction=Direction.INBOUND,
        occurred_at=timezone.now(),
        summary=text,
        follow_up_needed=True,
        source="line",
    )


def test_link_code_page_shows_a_qr_code_and_the_code(line_shop, tenant, staff_client):
    customer = CustomerFactory(tenant=tenant)
    response = staff_client.post(reverse("line:link_code", args=[customer.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<svg" in html and 'id="line-link-code"' in html
    assert (
        LineLinkCode.objects.for_tenant(tenant).filter(customer=customer, created_by__isnull=False).count()
        == 1
    )


def test_link_code_as_htmx_returns_the_panel(line_shop, tenant, staff_client):
    customer = CustomerFactory(tenant=tenant)
    response = staff_client.post(reverse("line:link_code", args=[customer.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith('<section class="card mb-3" id="line-panel"') and "<svg" in html


def test_link_code_without_basic_id_issues_nothing(tenant, staff_client):
    customer = CustomerFactory(tenant=tenant)
    response = staff_client.post(reverse("line:link_code", args=[customer.pk]))
    assert response.status_code == 302
    assert LineLinkCode.objects.for_tenant(tenant).count() == 0


def test_viewer_cannot_issue_codes_or_mark_done(line_shop, tenant, viewer_client):
    customer = CustomerFactory(tenant=tenant)
    interaction = _inbound(tenant, customer)
    assert viewer_client.post(reverse("line:link_code", args=[customer.pk])).status_code == 403
    assert viewer_client.post(reverse("line:message_done", args=[interaction.pk])).status_code == 403
    assert LineLinkCode.objects.for_tenant(tenant).count() == 0
    interaction.refresh_from_db()
    assert interaction.follow_up_needed is True


def test_inbox_lists_unanswered_and_unlinked_messages_and_mark_done(line_shop, tenant, staff_client, user_id):
    customer = CustomerFactory(tenant=tenant, family_name="佐藤")
    interaction = _inbound(tenant, customer, "車検の見積もりをお願いします")
    post_webhook(tenant, body_of(text_event(user_id, "はじめまして")), secret=SECRET_A)
    html = staff_client.get(reverse("line:inbox")).content.decode()
    assert "車検の見積もりをお願いします" in html and "はじめまして" in html and "佐藤" in html
    response = staff_client.post(
        reverse("line:message_done", args=[interaction.pk]), {"next": "https://evil.example/"}
    )
    assert response.status_code == 302 and response.url == reverse("line:inbox")
    interaction.refresh_from_db()
    assert interaction.follow_up_needed is False
    assert "車検の見積もりをお願いします" not in staff_client.get(reverse("line:inbox")).content.decode()


def test_counter_qr_page_shows_the_add_friend_qr_and_the_webhook_url(line_shop, tenant, viewer_client):
    html = viewer_client.get(reverse("line:counter_qr")).content.decode()
    assert "<svg" in html and webhook_url(tenant) in html


def test_staff_links_an_unlinked_line_user_by_hand(line_shop, tenant, staff_client, user_id):
    contact = LineContact.objects.create(tenant=tenant, line_user_id=user_id, display_name="たろう")
    customer = CustomerFactory(tenant=tenant)
    response = staff_client.post(reverse("line:link_contact", args=[customer.pk]), {"contact": contact.pk})
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.customer_id == customer.pk


# --- other shops ---------------------------------------------------------------------------------
def test_other_shop_gets_404_and_changes_nothing(
    line_shop, other_line_shop, tenant, other_tenant, other_client, user_id
):
    customer = CustomerFactory(tenant=tenant)
    interaction = _inbound(tenant, customer)
    contact = LineContact.objects.create(tenant=tenant, line_user_id=user_id)
    for url, data in [
        (reverse("line:link_code", args=[customer.pk]), {}),
        (
            reverse("line:reply", args=[customer.pk]),
            {"text": "hi", "nonce": "6f1c7a52-9d0e-4c83-a4a1-0c2b5e7d9f31"},
        ),
        (reverse("line:message_done", args=[interaction.pk]), {}),
        (reverse("line:link_contact", args=[customer.pk]), {"contact": contact.pk}),
    ]:
        assert other_client.post(url, data).status_code == 404, url
    # and shop B's customer with shop A's LINE user
    customer_b = CustomerFactory(tenant=other_tenant)
    assert (
        other_client.post(
            reverse("line:link_contact", args=[customer_b.pk]), {"contact": contact.pk}
        ).status_code
        == 404
    )
    assert LineLinkCode.objects.for_tenant(tenant).count() == 0
    interaction.refresh_from_db()
    contact.refresh_from_db()
    assert (interaction.follow_up_needed, contact.customer_id) == (True, None)
    assert Interaction.objects.for_tenant(tenant).count() == 1
    inbox = other_client.get(reverse("line:inbox")).content.decode()
    assert "予約できますか" not in inbox


def test_channel_settings_page_shows_this_shops_webhook_url(
    line_shop, other_line_shop, tenant, other_tenant, owner_client
):
    html = owner_client.get(reverse("channel_settings")).content.decode()
    assert line_webhook_url(tenant_id=tenant.pk) in html
    assert line_webhook_url(tenant_id=other_tenant.pk) not in html
    assert f"/line/webhook/{tenant.slug}/" not in html
