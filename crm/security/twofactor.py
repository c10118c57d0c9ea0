"""Optional two-factor login (TOTP, django-otp) for owners and managers, with one-time backup codes.

Flow: the password form succeeds → if the person has a confirmed authenticator, nothing is logged in
yet; the session remembers who passed the password step (for PENDING_SECONDS) and the second step
asks for a 6-digit code or a backup code. Only then is the session logged in and marked verified.
"""

from __future__ import annotations

import base64
import time

import segno
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp import match_token, user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from crm.models import Membership, User
from crm.tenancy.roles import Role

PENDING_KEY = "kizuna_2fa_pending"
PENDING_SECONDS = 300
MAX_CODE_ATTEMPTS = 5  # per password step; then the password must be entered again
BACKUP_CODE_COUNT = 10
DEVICE_NAME = "authenticator"
TWO_FACTOR_ROLES = (Role.OWNER, Role.MANAGER)
WRONG_CODE = gettext_lazy("This code is not valid. Check the time on your phone and try again.")


class CodeForm(forms.Form):
    token = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=16,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def clean_token(self):
        return "".join(self.cleaned_data["token"].split()).lower()


# --- services ----------------------------------------------------------------------------------------
def may_use_two_factor(user: User, memberships: list[Membership]) -> bool:
    """Owners and managers of any of their shops may turn it on; anyone who has it may turn it off.

    `memberships`: all of the person's memberships (request.memberships): the setting is the person's.
    """
    if any(m.role in TWO_FACTOR_ROLES for m in memberships):
        return True
    return user_has_device(user, confirmed=True)


@transaction.atomic
def totp_device_start(*, user: User) -> TOTPDevice:
    """The person's unconfirmed authenticator (a new secret only if none is waiting)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice(user=user, name=DEVICE_NAME, confirmed=False)
        device.full_clean()
        device.save()
    return device


@transaction.atomic
def backup_codes_regenerate(*, user: User) -> list[str]:
    """Replace the person's backup codes with BACKUP_CODE_COUNT new ones (each works once)."""
    device, _created = StaticDevice.objects.get_or_create(user=user, defaults={"name": "backup"})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


@transaction.atomic
def totp_device_confirm(*, user: User, device: TOTPDevice, token: str) -> list[str] | None:
    """Confirm the authenticator with a code it shows; returns fresh backup codes, or None if wrong."""
    if not device.verify_token(token):
        return None
    TOTPDevice.objects.filter(user=user, confirmed=True).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return backup_codes_regenerate(user=user)


@transaction.atomic
def two_factor_disable(*, user: User) -> None:
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()


def qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// link as an inline SVG QR code (drawn here: no image service sees the secret)."""
    title = _("QR code for your authenticator app")
    return mark_safe(segno.make(device.config_url, error="m").svg_inline(scale=4, light="#fff", title=title))  # noqa: S308 — SVG generated from our own data


def secret_text(device: TOTPDevice) -> str:
    raw = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))


# --- login step ----------------------------------------------------------------------------------
def begin_second_step(request, user: User, success_url: str):
    """After a correct password: a redirect to the code step if `user` has an authenticator, else None."""
    if not user_has_device(user, confirmed=True):
        return None
    request.session[PENDING_KEY] = {
        "user": user.pk,
        "backend": user.backend,
        "next": success_url,
        "at": time.time(),
        "tries": 0,
    }
    return redirect("login_otp")


@never_cache
@require_http_methods(["GET", "POST"])
def login_otp(request):
    pending = request.session.get(PENDING_KEY)
    if not pending or time.time() - pending["at"] > PENDING_SECONDS:
        request.session.pop(PENDING_KEY, None)
        messages.error(request, _("Please log in again."))
        return redirect("login")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = User.objects.filter(pk=pending["user"], is_active=True).first()
        device = match_token(user, form.cleaned_data["token"]) if user else None
        if device is not None:
            del request.session[PENDING_KEY]
            auth_login(request, user, backend=pending["backend"])
            otp_login(request, device)
            nxt = pending["next"]
            if not url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
                nxt = settings.LOGIN_REDIRECT_URL
            return redirect(nxt)
        pending["tries"] += 1
        if pending["tries"] >= MAX_CODE_ATTEMPTS:
            request.session.pop(PENDING_KEY, None)
            messages.error(request, _("Too many wrong codes. Please log in again."))
            return redirect("login")
        request.session[PENDING_KEY] = pending
        form.add_error("token", WRONG_CODE)
    return render(request, "crm/login_otp.html", {"form": form})


# --- the person's own page -----------------------------------------------------------------------
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def two_factor(request):
    user = request.user
    if not may_use_two_factor(user, request.memberships):
        raise PermissionDenied
    enabled = user_has_device(user, confirmed=True)
    form = CodeForm(request.POST or None)
    backup_codes = None
    action = request.POST.get("action")
    if request.method == "POST" and form.is_valid():
        token = form.cleaned_data["token"]
        if action == "confirm" and not enabled:
            device = totp_device_start(user=user)
            backup_codes = totp_device_confirm(user=user, device=device, token=token)
            if backup_codes is not None:
                otp_login(request, device)
                enabled = True
                messages.success(request, _("Two-factor authentication is on."))
                form = CodeForm()
            else:
                form.add_error("token", WRONG_CODE)
        elif action in ("disable", "backup") and enabled:
            if match_token(user, token) is None:
                form.add_error("token", WRONG_CODE)
            elif action == "disable":
                two_factor_disable(user=user)
                messages.success(request, _("Two-factor authentication is off."))
                return redirect("two_factor")
            else:
                backup_codes = backup_codes_regenerate(user=user)
                form = CodeForm()
        else:
            raise PermissionDenied
    context = {"form": form, "enabled": enabled, "backup_codes": backup_codes}
    if not enabled:
        device = totp_device_start(user=user)
        context.update(qr=qr_svg(device), secret=secret_text(device))
    elif backup_codes is None:
        context["backup_left"] = StaticToken.objects.filter(device__user=user).count()
    return render(request, "crm/two_factor.html", context)


def admin_login(request):
    """The admin site logs in through the same page, so its staff get the lockout and the code step too."""
    nxt = request.GET.get("next") or "/admin/"
    if not url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        nxt = "/admin/"
    return redirect_to_login(nxt, login_url=settings.LOGIN_URL)
