"""The Customer 360's channels panel: consent per channel (when, how), the channel order, LINE link
state, a link to edit; nothing of another shop ever shows on it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from channels.models import ChannelConsent, CustomerChannelPreference, LineContact
from channels.services import channel_preference_set, channel_settings_update
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

APRIL_1 = datetime(2026, 4, 1, 3, 0, tzinfo=UTC)  # 2026-04-01 12:00 in Tokyo
MAY_2 = datetime(2026, 5, 2, 1, 0, tzinfo=UTC)
JUNE_3 = datetime(2026, 6, 3, 5, 0, tzinfo=UTC)


def _rows(response) -> list[tuple]:
    return [
        (r.channel, r.position, r.receivable, r.state, r.at, r.source)
        for r in response.context["channel_rows"]
    ]


def _panel(html: str) -> str:
    start = html.index('id="channels-panel"')
    return html[start : html.index("</section>", start)]


def test_panel_shows_each_channel_in_the_customers_order_with_its_consent(staff_client, tenant):
    channel_settings_update(tenant=tenant, channel_order="line,email,sms,postcard")
    customer = CustomerFactory(
        tenant=tenant,
        consent="opted_in",
        consent_at=APRIL_1,
        consent_source="店頭の申込書",
        phone="090-1111-2222",
    )
    ChannelConsent.objects.create(
        tenant=tenant,
        customer=customer,
        channel="sms",
        status="opted_in",
        recorded_at=MAY_2,
        source="電話で口頭",
    )
    ChannelConsent.objects.create(
        tenant=tenant,
        customer=customer,
        channel="postcard",
        status="opted_out",
        recorded_at=JUNE_3,
        source="本人",
    )
    LineContact.objects.create(
        tenant=tenant, line_user_id="U" + "a" * 32, customer=customer, followed_at=MAY_2
    )
    channel_preference_set(tenant=tenant, customer=customer, channel_order="sms,email")

    response = staff_client.get(reverse("customers:detail", args=[customer.pk]), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert _rows(response) == [
        ("sms", 1, True, "opted_in", MAY_2, "電話で口頭"),
        ("email", 2, True, "opted_in", APRIL_1, "店頭の申込書"),
        ("line", None, False, "following", MAY_2, ""),  # follows, but not in this customer's order
        ("postcard", None, False, "refused", JUNE_3, "本人"),
    ]
    assert response.context["channel_own_order"] is True
    panel = _panel(response.content.decode())
    assert "Order set for this customer" in panel
    assert "2026-05-02 · 電話で口頭" in panel and "2026-06-03 · 本人" in panel
    assert "Linked, following" in panel and "Refused" in panel
    assert panel.count("can receive") == 2 and panel.count("not used") == 2
    assert f'href="{reverse("customer_channels", args=[customer.pk])}"' in panel


def test_panel_in_japanese_with_the_shop_default_order(staff_client, tenant):
    channel_settings_update(tenant=tenant, channel_order="email,postcard")
    customer = CustomerFactory(tenant=tenant, postal_code="", address="")  # e-mail not asked, no address

    response = staff_client.get(reverse("customers:detail", args=[customer.pk]), HTTP_ACCEPT_LANGUAGE="ja")

    assert _rows(response) == [
        ("email", 1, False, "unknown", None, ""),
        ("postcard", 2, False, "no_address", None, ""),
        ("line", None, False, "not_linked", None, ""),
        ("sms", None, False, "not_asked", None, ""),
    ]
    panel = _panel(response.content.decode())
    assert "連絡チャネルと同意" in panel
    assert "店舗の標準の優先順" in panel
    assert panel.count("使用しない") == 2 and "badge text-bg-success" not in panel
    assert "編集" in panel  # staff may change it


def test_viewer_gets_a_details_link_not_edit(viewer_client, tenant):
    customer = CustomerFactory(tenant=tenant)

    page = viewer_client.get(reverse("customers:detail", args=[customer.pk]), HTTP_ACCEPT_LANGUAGE="en")
    panel = _panel(page.content.decode())

    assert ">Details</a>" in panel and ">Edit</a>" not in panel


def test_panel_shows_nothing_of_another_shop(staff_client, tenant, other_tenant, other_client):
    """Rows of another shop naming this customer's id (as a corrupted import could) never show, nor does
    that shop's channel order; and that shop's user cannot open this customer at all."""
    channel_settings_update(tenant=tenant, channel_order="email,line")
    channel_settings_update(tenant=other_tenant, channel_order="sms,postcard,line")
    mine = CustomerFactory(tenant=tenant)
    ChannelConsent.objects.bulk_create(
        [
            ChannelConsent(
                tenant=other_tenant,
                customer=mine,
                channel="sms",
                status="opted_in",
                recorded_at=MAY_2,
                source="他店",
            ),
            ChannelConsent(
                tenant=other_tenant, customer=mine, channel="postcard", status="opted_out", recorded_at=MAY_2
            ),
        ]
    )
    LineContact.objects.bulk_create(
        [
            LineContact(
                tenant=other_tenant, line_user_id="U" + "b" * 32, customer=mine, display_name="他店の友だち"
            )
        ]
    )
    CustomerChannelPreference.objects.bulk_create(
        [CustomerChannelPreference(tenant=other_tenant, customer=mine, channel_order="sms")]
    )

    response = staff_client.get(reverse("customers:detail", args=[mine.pk]), HTTP_ACCEPT_LANGUAGE="en")

    assert _rows(response) == [
        ("email", 1, False, "unknown", None, ""),
        ("line", 2, False, "not_linked", None, ""),
        ("postcard", None, False, "has_address", None, ""),
        ("sms", None, False, "not_asked", None, ""),
    ]
    assert response.context["channel_own_order"] is False
    page = response.content.decode()
    assert "他店" not in page and "他店の友だち" not in page
    assert other_client.get(reverse("customers:detail", args=[mine.pk])).status_code == 404
