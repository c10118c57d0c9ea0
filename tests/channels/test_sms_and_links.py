import pytest

from channels.delivery import RecipientRefused, RetryableDeliveryError, idempotency_key
from channels.links import read_short_token, register_short_link, short_token, short_url
from channels.sms import SMS_MAX_CHARS, fit_sms, sms_provider


def test_http_sms_sends_once_per_idempotency_key(line_shop, fake_sms):
    provider = sms_provider(line_shop.pk)
    key = idempotency_key("reminder", line_shop.pk, 1)
    first = provider.send(to="+819012345678", text="車検のご案内", idempotency_key=key)
    again = provider.send(to="+819012345678", text="車検のご案内", idempotency_key=key)
    assert first == again
    assert [(m["to"], m["from"], m["text"]) for m in fake_sms.sent] == [
        ("+819012345678", "ShopA", "車検のご案内")
    ]


def test_sms_errors(line_shop, fake_sms):
    provider = sms_provider(line_shop.pk)
    fake_sms.fail_next(1, 503)
    with pytest.raises(RetryableDeliveryError):
        provider.send(to="+819012345678", text="a", idempotency_key="k1")
    fake_sms.invalid.add("+819000000000")
    with pytest.raises(RecipientRefused):
        provider.send(to="+819000000000", text="a", idempotency_key="k2")
    fake_sms.stop()
    with pytest.raises(RetryableDeliveryError, match="connection error"):
        provider.send(to="+819012345678", text="a", idempotency_key="k3")


def test_fit_sms_keeps_the_link_whole():
    link = "https://k.example/s/1.2.u.AAAAAAAAAAAA"
    text = fit_sms(prefix="【Shop A】", text="車検満了日が近づいています。" * 5, link=link)
    assert len(text) <= SMS_MAX_CHARS
    assert text.endswith(" " + link)


def test_short_token_roundtrip_and_forgery():
    token = short_token(tenant_id=12, customer_id=34567, purpose="u")
    assert read_short_token(token) == (12, 34567, "u")
    assert len(token) < 25
    payload, sig = token.rsplit(".", 1)
    assert read_short_token(payload.replace("u", "b") + "." + sig) is None
    assert read_short_token(short_token(tenant_id=13, customer_id=34567, purpose="u")[:-1] + "x") is None
    assert read_short_token("garbage") is None


def test_short_link_redirects_to_the_registered_page(client, tenant):
    register_short_link("t", lambda tenant_id, customer_id: f"/target/{tenant_id}/{customer_id}/")
    url = short_url(tenant_id=tenant.pk, customer_id=5, purpose="t")
    assert url.startswith("http://127.0.0.1:8000/s/")
    response = client.get(url.removeprefix("http://127.0.0.1:8000"))
    assert response.status_code == 302
    assert response["Location"] == f"/target/{tenant.pk}/5/"


def test_forged_short_link_is_404(client):
    assert client.get("/s/1.2.u.AAAAAAAAAAAA").status_code == 404
