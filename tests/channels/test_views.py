"""Dashboard pages of channels: settings (secrets never shown back), a customer's channels, outbox;
cross-tenant: another shop's customer is a 404 and nothing changes."""

import json

import pytest
from django.utils import timezone, translation

from channels.line_selectors import line_webhook_url
from channels.models import ChannelConsent, ChannelSettings, CustomerChannelPreference, LineContact
from channels.selectors import line_credentials
from crm.models import AuditEvent
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _ja(text: str) -> str:
    """The dashboard answers in Japanese (the shop's default language)."""
    with translation.override("ja"):
        return translation.gettext(text)


def test_owner_saves_line_credentials_that_are_never_shown_back(owner_client, tenant):
    response = owner_client.post(
        "/settings/channels/",
        {
            "channel_order": "line, email, postcard",
            "line_channel_id": "1650000000",
            "line_channel_secret": "very-secret-value",
            "line_access_token": "very-long-access-token",
            "sms_sender_id": "ShopA",
        },
    )
    assert response.status_code == 302
    row = ChannelSettings.objects.for_tenant(tenant).get()
    assert row.channel_order == "line,email,postcard"
    assert line_credentials(tenant_id=tenant.pk).access_token == "very-long-access-token"
    page = owner_client.get("/settings/channels/").content.decode()
    assert "very-secret-value" not in page and "very-long-access-token" not in page
    # The signed per-shop key URL (channels.line_selectors), never the guessable slug.
    assert line_webhook_url(tenant_id=tenant.pk) in page and f"/line/webhook/{tenant.slug}/" not in page
    assert _ja("Channel secret and access token are stored (encrypted; they are never shown again).") in page
    # Saving again with the secret fields empty keeps them
    owner_client.post("/settings/channels/", {"channel_order": "email", "line_channel_id": "1650000000"})
    assert line_credentials(tenant_id=tenant.pk).access_token == "very-long-access-token"
    assert AuditEvent.objects.for_tenant(tenant).filter(action="settings_changed").count() == 2


def test_bad_channel_order_is_refused_and_nothing_saved(owner_client, tenant):
    response = owner_client.post("/settings/channels/", {"channel_order": "email,fax"})
    assert response.status_code == 200
    assert _ja("Unknown channel: %(names)s") % {"names": "fax"} in response.content.decode()
    assert not ChannelSettings.objects.for_tenant(tenant).exists()


def test_staff_cannot_open_channel_settings(staff_client):
    assert staff_client.get("/settings/channels/").status_code == 403


def test_staff_records_sms_opt_in_with_how_and_a_preference(staff_client, tenant):
    customer = CustomerFactory(tenant=tenant)
    response = staff_client.post(
        f"/customers/{customer.pk}/channels/",
        {"channel_order": "sms,email", "sms": "opted_in", "source": "signed form at the counter"},
    )
    assert response.status_code == 302
    consent = ChannelConsent.objects.for_tenant(tenant).get(customer=customer)
    assert (consent.channel, consent.status, consent.source) == (
        "sms",
        "opted_in",
        "signed form at the counter",
    )
    assert (
        CustomerChannelPreference.objects.for_tenant(tenant).get(customer=customer).channel_order
        == "sms,email"
    )
    page = staff_client.get(f"/customers/{customer.pk}/channels/").content.decode()
    assert "signed form at the counter" in page


def test_sms_opt_in_without_how_is_refused(staff_client, tenant):
    customer = CustomerFactory(tenant=tenant)
    response = staff_client.post(f"/customers/{customer.pk}/channels/", {"sms": "opted_in"})
    assert response.status_code == 200
    assert not ChannelConsent.objects.for_tenant(tenant).exists()


def test_viewer_sees_but_cannot_change(viewer_client, tenant):
    customer = CustomerFactory(tenant=tenant)
    assert viewer_client.get(f"/customers/{customer.pk}/channels/").status_code == 200
    assert (
        viewer_client.post(f"/customers/{customer.pk}/channels/", {"postcard_refused": "on"}).status_code
        == 403
    )
    assert not ChannelConsent.objects.for_tenant(tenant).exists()


def test_another_shops_customer_is_404_and_nothing_changes(other_client, tenant):
    customer = CustomerFactory(tenant=tenant)
    assert other_client.get(f"/customers/{customer.pk}/channels/").status_code == 404
    response = other_client.post(
        f"/customers/{customer.pk}/channels/", {"sms": "opted_in", "source": "x", "postcard_refused": "on"}
    )
    assert response.status_code == 404
    assert not ChannelConsent.objects.for_tenant(tenant).exists()
    assert not CustomerChannelPreference.objects.for_tenant(tenant).exists()


def test_another_shops_settings_are_neither_shown_nor_changed(other_client, owner_client, tenant):
    owner_client.post("/settings/channels/", {"channel_order": "line", "line_access_token": "tok-a"})
    page = other_client.get("/settings/channels/").content.decode()
    assert _ja("No LINE channel secret and access token stored yet.") in page
    other_client.post("/settings/channels/", {"channel_order": "email", "clear_line": "on"})
    assert line_credentials(tenant_id=tenant.pk).access_token == "tok-a"
    assert ChannelSettings.objects.for_tenant(tenant).get().channel_order == "line"


def test_outbox_shows_only_this_shops_messages(owner_client, other_client, tenant, other_tenant, settings):
    folder = settings.LINE_OUTBOX_DIR
    folder.mkdir(parents=True)
    for t, text in ((tenant, "for shop A"), (other_tenant, "for shop B")):
        record = {"tenant_id": t.pk, "to": "U" + "0" * 32, "messages": [{"type": "text", "text": text}]}
        (folder / f"{t.pk}-{t.pk}.json").write_text(json.dumps(record), encoding="utf-8")
    assert "for shop A" in owner_client.get("/outbox/line/").content.decode()
    page = other_client.get("/outbox/line/").content.decode()
    assert "for shop B" in page and "for shop A" not in page
    assert owner_client.get("/outbox/fax/").status_code == 404


def test_customer_page_shows_what_can_be_received(owner_client, tenant):
    owner_client.post("/settings/channels/", {"channel_order": "email,postcard"})
    customer = CustomerFactory(tenant=tenant, consent="opted_in", consent_at=timezone.now())
    page = owner_client.get(f"/customers/{customer.pk}/channels/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    receivable = page.split('id="receivable">', 1)[1].split("</strong>", 1)[0]
    assert receivable.count("→") == 1 and "(はがき)" in receivable.split("→")[1]


def test_customer_channels_page_never_shows_another_shops_line_contact(owner_client, tenant, other_tenant):
    """A LINE contact row of another shop naming this customer (as a corrupted import could) is not theirs."""
    customer = CustomerFactory(tenant=tenant)
    LineContact.objects.bulk_create(
        [
            LineContact(
                tenant=other_tenant,
                line_user_id="U" + "d" * 32,
                customer=customer,
                followed_at=timezone.now(),
            )
        ]
    )

    page = owner_client.get(f"/customers/{customer.pk}/channels/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    consents = page[page.index('id="consents"') : page.index("</dl>")]
    assert "Not linked" in consents and "Following the shop's account" not in consents
