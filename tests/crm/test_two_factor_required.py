"""A shop can require two-factor authentication of its owners and managers (Tenant.require_two_factor)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from crm.api.keys import api_key_create
from tests.conftest import PASSWORD
from tests.crm.test_login_security import _code, _enable, _login

pytestmark = pytest.mark.django_db

CUSTOMERS = "/customers/"


@pytest.fixture
def no_code_throttle(settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


@pytest.fixture
def strict(tenant):
    tenant.require_two_factor = True
    tenant.save(update_fields=["require_two_factor"])
    return tenant


def test_owner_without_an_authenticator_is_sent_to_set_one_up(strict, owner, owner_client, no_code_throttle):
    response = owner_client.get(CUSTOMERS)
    assert response.status_code == 302 and response.url == reverse("two_factor")
    assert owner_client.get(reverse("customers:list")).status_code == 302
    page = owner_client.get(reverse("two_factor"))
    assert page.status_code == 200
    assert "Shop A" in " ".join(str(m) for m in page.context["messages"])
    _enable(owner_client, owner)  # confirming the authenticator verifies this session
    assert owner_client.get(CUSTOMERS).status_code == 200


def test_every_later_login_needs_the_code(strict, owner, owner_client, no_code_throttle):
    device, _codes = _enable(owner_client, owner)
    client = Client()
    assert _login(client, owner.email, PASSWORD).url == reverse("login_otp")
    assert client.get(CUSTOMERS).status_code == 302
    client.post(reverse("login_otp"), {"token": _code(device, steps_ahead=1)})
    assert client.get(CUSTOMERS).status_code == 200


def test_a_session_without_the_code_is_logged_out_when_the_person_has_an_authenticator(strict, owner):
    TOTPDevice.objects.create(user=owner, name="authenticator", confirmed=True)
    client = Client()
    client.force_login(owner)  # e.g. logged in before the shop turned the requirement on
    wanted = CUSTOMERS + "?q=%E5%B1%B1%E7%94%B0&sort=name"  # 山田, as a browser sends it
    response = client.get(wanted)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    from urllib.parse import parse_qs, urlsplit

    assert parse_qs(urlsplit(response.url).query)["next"] == [wanted]  # back to the same search
    assert "_auth_user_id" not in client.session


def test_htmx_and_api_session_requests_get_403(strict, manager_client):
    assert manager_client.get(CUSTOMERS, HTTP_HX_REQUEST="true").status_code == 403
    assert manager_client.get("/api/v1/customers/").status_code == 403


def test_staff_and_viewers_are_not_affected(strict, staff_client, viewer_client):
    assert staff_client.get(CUSTOMERS).status_code == 200
    assert viewer_client.get(CUSTOMERS).status_code == 200


def test_api_keys_are_not_affected(strict, owner):
    _key, raw = api_key_create(tenant=strict, name="Till", scope="read", created_by=owner)
    response = Client().get("/api/v1/customers/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200


def test_the_requirement_is_per_shop(strict, other_tenant, other_client, owner_client):
    assert other_client.get(CUSTOMERS).status_code == 200  # shop B does not require it
    assert owner_client.get(CUSTOMERS).status_code == 302  # shop A does


def test_without_the_requirement_two_factor_stays_optional(owner_client, manager_client):
    assert owner_client.get(CUSTOMERS).status_code == 200
    assert manager_client.get(CUSTOMERS, HTTP_HX_REQUEST="true").status_code == 200
    assert manager_client.get("/api/v1/customers/").status_code == 200


def test_owner_turns_it_on_in_the_settings_and_it_is_audited(owner_client, tenant, manager_client):
    from crm.models import AuditAction, AuditEvent

    data = {
        "name": tenant.name,
        "sender_name": tenant.sender_name,
        "sender_email": tenant.sender_email,
        "phone": tenant.phone,
        "address": tenant.address,
        "send_window_start": tenant.send_window_start.strftime("%H:%M"),
        "send_window_end": tenant.send_window_end.strftime("%H:%M"),
        "churn_horizon_months": tenant.churn_horizon_months,
        "require_two_factor": "on",
    }
    response = owner_client.post(reverse("settings_profile"), data)
    assert response.status_code == 302
    tenant.refresh_from_db()
    assert tenant.require_two_factor is True
    event = AuditEvent.objects.for_tenant(tenant).get(action=AuditAction.SETTINGS_CHANGED)
    assert event.changes == {"require_two_factor": ["False", "True"]}
    assert manager_client.get(CUSTOMERS).status_code == 302  # in force at once
    owner_client.post(reverse("settings_profile"), data)  # saving without a change records nothing
    assert AuditEvent.objects.for_tenant(tenant).filter(action=AuditAction.SETTINGS_CHANGED).count() == 1
