"""APPI: what LINE holds about a customer is disclosed, and erased without touching another customer."""

import pytest
from django.utils import timezone

from channels import line_inbound, line_privacy
from channels.line_models import LineInboundMessage, LineLinkCode
from channels.models import LineContact, LineWebhookEvent
from tests.channels.line.conftest import SECRET_A, body_of, post_webhook, text_event
from tests.factories import CustomerFactory
from tests.fakes.line_api import line_user_id

pytestmark = pytest.mark.django_db


def test_export_and_erase_line_data(line_shop, tenant, user_id):
    customer, other = CustomerFactory(tenant=tenant), CustomerFactory(tenant=tenant)
    other_user = line_user_id("other")
    for who, user in ((customer, user_id), (other, other_user)):
        LineContact.objects.create(tenant=tenant, line_user_id=user, customer=who, linked_at=timezone.now())
        post_webhook(tenant, body_of(text_event(user, f"message of {who.pk}")), secret=SECRET_A)
    line_inbound.line_link_code_issue(tenant=tenant, customer=customer, user=None)

    data = line_privacy.export(tenant=tenant, customer=customer)
    assert [a["line_user_id"] for a in data["line_accounts"]] == [user_id]
    assert [m["text"] for m in data["line_messages"]] == [f"message of {customer.pk}"]

    counts = line_privacy.erase(tenant=tenant, customer=customer, now=timezone.now())
    assert counts == {"line_accounts_deleted": 1, "line_messages_deleted": 1, "line_events_cleared": 1}
    assert not LineContact.objects.for_tenant(tenant).filter(line_user_id=user_id).exists()
    assert LineLinkCode.objects.for_tenant(tenant).filter(customer=customer).count() == 0
    assert LineWebhookEvent.objects.for_tenant(tenant).filter(payload={}).count() == 1
    assert f"message of {customer.pk}" not in str(
        list(LineWebhookEvent.objects.for_tenant(tenant).values("payload"))
    )
    # The other customer keeps everything.
    assert LineInboundMessage.objects.for_tenant(tenant).get().text == f"message of {other.pk}"
    assert LineContact.objects.for_tenant(tenant).get().customer_id == other.pk
