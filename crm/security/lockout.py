"""Login hardening: the brute-force lockout page and the client address it counts by (django-axes)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import render
from django.utils.translation import gettext as _


def client_ip(request) -> str | None:
    """The client's address: the socket's, or the hop our own proxies appended to X-Forwarded-For.

    Only the last TRUSTED_PROXY_HOPS entries were written by proxies we run; anything before them is
    whatever the client sent, so it is never used (a forged header cannot dodge the lockout).
    """
    hops = settings.TRUSTED_PROXY_HOPS
    if hops > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.META.get("REMOTE_ADDR")


def login_username(request, credentials: dict | None) -> str:
    """Count "Sato@Shop.jp" and "sato@shop.jp " as the same login (e-mail addresses are stored lower-case)."""
    raw = (credentials or {}).get("username") or getattr(request, "POST", {}).get("username", "")
    return str(raw).strip().lower()


def lockout_response(request, original_response=None, credentials=None):
    """The login page again, with a clear message and HTTP 429, instead of axes' bare text."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    form = AuthenticationForm(request)
    message = _(
        "Too many failed login attempts. For your security, logging in with this e-mail address from "
        "this network is blocked for %(minutes)d minutes. You can reset your password meanwhile."
    ) % {"minutes": minutes}
    context = {"form": form, "lockout_message": message, "next": request.POST.get("next", "")}
    return render(request, "crm/login.html", context, status=429)
