"""Login hardening: brute-force lockout (django-axes), password rules, optional TOTP two-factor."""

from __future__ import annotations

import time

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from crm.security.twofactor import BACKUP_CODE_COUNT, MAX_CODE_ATTEMPTS, PENDING_KEY
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def _login(client, email, password, ip="10.0.0.1", lang="ja"):
    return client.post(
        LOGIN, {"username": email, "password": password}, REMOTE_ADDR=ip, HTTP_ACCEPT_LANGUAGE=lang
    )


def _is_logged_in(client) -> bool:
    return "_auth_user_id" in client.session


# --- brute force --------------------------------------------------------------------------------
def test_wrong_passwords_lock_the_email_and_ip_pair_even_for_the_right_password(staff):
    client = Client()
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        response = _login(client, staff.email, "wrong-password-1")
        assert response.status_code == 200  # the form again, with its error
    locked = _login(client, staff.email, "wrong-password-1", lang="en")
    assert locked.status_code == 429
    assert "Too many failed login attempts" in locked.content.decode()
    # Locked: even the right password is refused and nobody is logged in.
    again = _login(client, staff.email.upper(), PASSWORD)  # case does not dodge the count
    assert again.status_code == 429
    assert "ログインの失敗が続いたため" in again.content.decode()
    assert not _is_logged_in(client)


def test_lockout_is_per_ip_and_per_email(staff, manager):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, staff.email, "wrong-password-1", ip="10.0.0.1")
    # Another address, or another person from the same address, can still log in.
    assert _login(Client(), staff.email, PASSWORD, ip="10.0.0.2").status_code == 302
    assert _login(Client(), manager.email, PASSWORD, ip="10.0.0.1").status_code == 302


def test_successful_login_resets_the_failure_count(staff):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, staff.email, "wrong-password-1")
    assert AccessAttempt.objects.get().failures_since_start == settings.AXES_FAILURE_LIMIT - 1
    assert _login(client, staff.email, PASSWORD).status_code == 302
    assert AccessAttempt.objects.count() == 0
    client.logout()
    assert _login(Client(), staff.email, "wrong-password-1").status_code == 200  # not locked


def test_forged_forwarded_for_header_does_not_dodge_the_lockout(staff):
    """Without trusted proxies, X-Forwarded-For is the client's own text and is ignored."""
    for i in range(settings.AXES_FAILURE_LIMIT):
        Client().post(
            LOGIN,
            {"username": staff.email, "password": "wrong"},
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{i}",
        )
    response = Client().post(LOGIN, {"username": staff.email, "password": PASSWORD}, REMOTE_ADDR="10.0.0.1")
    assert response.status_code == 429


# --- password rules -----------------------------------------------------------------------------
WEAK = ["short1", "password123", "1234567890123", "staff@shop-a.test"]


def test_login_records_older_than_the_retention_are_deleted_and_recent_ones_kept(staff, settings):
    from datetime import timedelta

    from axes.models import AccessLog
    from django.utils import timezone

    from crm.tasks import prune_login_records

    settings.LOGIN_RECORD_RETENTION_DAYS = 90
    client = Client()
    _login(client, staff.email, "wrong password")  # a failure counter
    _login(client, staff.email, PASSWORD)  # an access log (and the counter is reset)
    _login(Client(), staff.email, "wrong again", ip="10.0.0.2")
    assert AccessLog.objects.count() >= 1 and AccessAttempt.objects.count() == 1
    old = timezone.now() - timedelta(days=91)
    AccessLog.objects.update(attempt_time=old)
    recent_log = AccessLog.objects.create(
        username="someone@shop.test", ip_address="10.0.0.3", user_agent="", attempt_time=timezone.now()
    )
    deleted = prune_login_records.run()
    assert deleted["access_logs"] >= 1 and deleted["attempts"] == 0
    assert list(AccessLog.objects.values_list("pk", flat=True)) == [recent_log.pk]
    assert AccessAttempt.objects.count() == 1  # a current failure counter stays (the lockout still counts)
    AccessAttempt.objects.update(attempt_time=old)
    assert prune_login_records.run()["attempts"] == 1
    assert AccessAttempt.objects.count() == 0


@pytest.mark.parametrize("weak", WEAK)
def test_password_change_rejects_weak_passwords(staff, staff_client, weak):
    response = staff_client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": weak, "new_password2": weak},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["new_password2"]
    staff.refresh_from_db()
    assert staff.check_password(PASSWORD)


def test_new_member_cannot_set_a_weak_password_from_the_invitation(owner_client, tenant, mailoutbox):
    owner_client.post(reverse("settings_members"), {"email": "new@shop-a.test", "role": "staff"})
    link = next(line for line in mailoutbox[0].body.splitlines() if "/accounts/reset/" in line)
    client = Client()
    confirm = client.get(link.split("testserver", 1)[1], follow=True)
    set_url = confirm.redirect_chain[-1][0]
    for weak in ["new@shop-a.test", "12345678901", "password1234", "short"]:
        response = client.post(set_url, {"new_password1": weak, "new_password2": weak})
        assert response.status_code == 200, weak
        assert response.context["form"].errors["new_password2"], weak
    from crm.models import User

    assert not User.objects.get(email="new@shop-a.test").has_usable_password()
    response = client.post(set_url, {"new_password1": "Kizuna-2026-new", "new_password2": "Kizuna-2026-new"})
    assert response.status_code == 302
    assert User.objects.get(email="new@shop-a.test").check_password("Kizuna-2026-new")


# --- two-factor ---------------------------------------------------------------------------------
@pytest.fixture
def no_code_throttle(settings):
    """django-otp makes each wrong code double the wait before the next; these tests try codes at once."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


def _code(device: TOTPDevice, steps_ahead: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def _enable(client, user) -> tuple[TOTPDevice, list[str]]:
    page = client.get(reverse("two_factor"))
    assert page.status_code == 200
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    assert page.context["secret"].replace(" ", "")  # the key for typing in
    assert "<svg" in page.content.decode()  # the QR code, drawn here
    response = client.post(reverse("two_factor"), {"action": "confirm", "token": _code(device)})
    assert response.status_code == 200
    device.refresh_from_db()
    assert device.confirmed
    return device, response.context["backup_codes"]


def test_owner_turns_on_two_factor_with_a_code_from_the_app(owner, owner_client, no_code_throttle):
    wrong = owner_client.post(reverse("two_factor"), {"action": "confirm", "token": "000000"})
    assert wrong.context["form"].errors["token"]
    assert not TOTPDevice.objects.filter(user=owner, confirmed=True).exists()
    _device, codes = _enable(owner_client, owner)
    assert len(codes) == BACKUP_CODE_COUNT == len(set(codes))
    assert StaticToken.objects.filter(device__user=owner).count() == BACKUP_CODE_COUNT
    assert owner_client.get(reverse("two_factor")).context["enabled"] is True


def test_two_factor_page_is_for_owners_and_managers(manager_client, staff_client, viewer_client):
    assert manager_client.get(reverse("two_factor")).status_code == 200
    assert staff_client.get(reverse("two_factor")).status_code == 403
    assert viewer_client.get(reverse("two_factor")).status_code == 403
    assert Client().get(reverse("two_factor")).status_code == 302  # to the login page


def test_login_asks_for_the_code_after_the_password(owner, owner_client, no_code_throttle):
    device, _codes = _enable(owner_client, owner)
    client = Client()
    response = _login(client, owner.email, PASSWORD)
    assert response.status_code == 302 and response.url == reverse("login_otp")
    assert not _is_logged_in(client)
    assert client.get(reverse("today")).status_code == 302  # still logged out
    wrong = client.post(reverse("login_otp"), {"token": "000000"})
    assert wrong.status_code == 200 and wrong.context["form"].errors["token"]
    assert not _is_logged_in(client)
    ok = client.post(reverse("login_otp"), {"token": _code(device, steps_ahead=1)})
    assert ok.status_code == 302 and ok.url == reverse("today")
    assert _is_logged_in(client)
    assert client.get(reverse("today")).status_code == 200
    assert PENDING_KEY not in client.session


def test_a_backup_code_logs_in_once(owner, owner_client, no_code_throttle):
    _device, codes = _enable(owner_client, owner)
    first = Client()
    _login(first, owner.email, PASSWORD)
    assert first.post(reverse("login_otp"), {"token": codes[0]}).status_code == 302
    assert _is_logged_in(first)
    second = Client()
    _login(second, owner.email, PASSWORD)
    assert second.post(reverse("login_otp"), {"token": codes[0]}).status_code == 200
    assert not _is_logged_in(second)
    assert StaticToken.objects.filter(device__user=owner).count() == BACKUP_CODE_COUNT - 1


def test_too_many_wrong_codes_send_back_to_the_password(owner, owner_client, no_code_throttle):
    device, _codes = _enable(owner_client, owner)
    client = Client()
    _login(client, owner.email, PASSWORD)
    for _ in range(MAX_CODE_ATTEMPTS - 1):
        assert client.post(reverse("login_otp"), {"token": "000000"}).status_code == 200
    response = client.post(reverse("login_otp"), {"token": "000000"})
    assert response.status_code == 302 and response.url == reverse("login")
    # The right code no longer helps without the password step again.
    after = client.post(reverse("login_otp"), {"token": _code(device, steps_ahead=1)})
    assert after.status_code == 302 and after.url == reverse("login")
    assert not _is_logged_in(client)


def test_code_step_without_password_step_goes_to_login(owner, owner_client):
    _enable(owner_client, owner)
    response = Client().post(reverse("login_otp"), {"token": "123456"})
    assert response.status_code == 302 and response.url == reverse("login")


def test_turn_off_needs_a_current_code(owner, owner_client, no_code_throttle):
    device, _codes = _enable(owner_client, owner)
    refused = owner_client.post(reverse("two_factor"), {"action": "disable", "token": "000000"})
    assert refused.status_code == 200 and refused.context["form"].errors["token"]
    assert TOTPDevice.objects.filter(user=owner, confirmed=True).exists()
    owner_client.post(reverse("two_factor"), {"action": "disable", "token": _code(device, steps_ahead=1)})
    assert not TOTPDevice.objects.filter(user=owner).exclude(confirmed=False).exists()
    assert not StaticToken.objects.filter(device__user=owner).exists()
    # And the login is one step again.
    assert _login(Client(), owner.email, PASSWORD).url == reverse("today")


def test_login_without_two_factor_is_one_step(staff):
    response = _login(Client(), staff.email, PASSWORD)
    assert response.status_code == 302 and response.url == reverse("today")


def test_a_wrong_code_slows_down_the_next_try(owner, owner_client, settings):
    """Guessing 6 digits online: after a wrong code even the right one waits (django-otp throttling)."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 60
    device, _codes = _enable(owner_client, owner)
    client = Client()
    _login(client, owner.email, PASSWORD)
    client.post(reverse("login_otp"), {"token": "000000"})
    refused = client.post(reverse("login_otp"), {"token": _code(device, steps_ahead=1)})
    assert refused.status_code == 200
    assert not _is_logged_in(client)


def test_admin_login_goes_through_the_same_login_page():
    response = Client().get("/admin/login/?next=/admin/crm/tenant/")
    assert response.status_code == 302
    assert response.url == "/accounts/login/?next=/admin/crm/tenant/"
    outside = Client().get("/admin/login/?next=https://evil.example/")
    assert outside.url == "/accounts/login/?next=/admin/"
