"""Channel settings: secrets encrypted at rest, never shown back, changes audited."""

from datetime import datetime

import pytest
from django.test import override_settings

from channels import privacy
from channels.crypto import SecretUnreadable, decrypt_secret, encrypt_secret
from channels.models import ChannelConsent, ChannelSettings
from channels.selectors import line_credentials
from channels.services import channel_consent_set, channel_preference_set, channel_settings_update
from crm.models import AuditEvent
from tests.factories import CustomerFactory


def test_secrets_are_stored_encrypted_and_audited_without_their_value(tenant):
    channel_settings_update(tenant=tenant, line_channel_secret="s3cret", line_access_token="tok-123")
    row = ChannelSettings.objects.for_tenant(tenant).get()
    assert "s3cret" not in row.line_channel_secret_encrypted
    assert "tok-123" not in row.line_access_token_encrypted
    assert line_credentials(tenant_id=tenant.pk).access_token == "tok-123"
    event = AuditEvent.objects.for_tenant(tenant).get()
    assert event.action == "settings_changed"
    assert event.changes == {"line_channel_secret": "(changed)", "line_access_token": "(changed)"}
    assert "s3cret" not in str(event.changes) + event.summary


def test_empty_secret_keeps_the_stored_one_and_clear_removes_it(tenant):
    channel_settings_update(tenant=tenant, line_access_token="tok-123")
    channel_settings_update(tenant=tenant, line_access_token="", channel_order="email")
    assert line_credentials(tenant_id=tenant.pk).access_token == "tok-123"
    channel_settings_update(tenant=tenant, clear_line_access_token=True)
    assert line_credentials(tenant_id=tenant.pk).access_token == ""


def test_key_rotation_reads_old_rows():
    old = encrypt_secret("x")  # written with the SECRET_KEY-derived key
    new_key = "q0Yx0x9Zr1dY3o8q1m9nHc5V3u6y0S3T1b2x3c4v5b4="
    with override_settings(CHANNELS_ENCRYPTION_KEY=new_key):
        assert decrypt_secret(old) == "x"
        rotated = encrypt_secret("y")
    with pytest.raises(SecretUnreadable):
        decrypt_secret(rotated)  # without the new key


def test_sms_consent_records_when_and_how(tenant):
    c = CustomerFactory(tenant=tenant)
    channel_consent_set(tenant=tenant, customer=c, channel="sms", status="opted_in", source="paper form")
    row = ChannelConsent.objects.for_tenant(tenant).get(customer=c, channel="sms")
    assert (row.status, row.source) == ("opted_in", "paper form") and row.recorded_at
    event = AuditEvent.objects.for_tenant(tenant).get(action="consent_changed")
    assert event.changes == {"channel": "sms", "consent": [None, "opted_in"], "source": "paper form"}
    with pytest.raises(ValueError):
        channel_consent_set(tenant=tenant, customer=c, channel="email", status="opted_in", source="x")


def test_disclosure_and_erasure_cover_channel_consents_and_preference(tenant):
    c = CustomerFactory(tenant=tenant)
    channel_consent_set(tenant=tenant, customer=c, channel="sms", status="opted_in", source="paper form")
    channel_preference_set(tenant=tenant, customer=c, channel_order="sms,email")
    exported = privacy.export(tenant=tenant, customer=c)
    assert [row["channel"] for row in exported["channel_consents"]] == ["sms"]
    assert exported["channel_preference"][0]["channel_order"] == "sms,email"
    counts = privacy.erase(tenant=tenant, customer=c, now=datetime.now())
    assert counts == {"channel_consents_deleted": 1, "channel_preferences_deleted": 1}
    assert not ChannelConsent.objects.for_tenant(tenant).filter(customer=c).exists()
