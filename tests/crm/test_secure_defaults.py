"""Production settings come from the environment and pass Django's deployment checks.

Each case starts `manage.py` in a fresh process, because settings are read once at start-up.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLResolver, get_resolver
from rest_framework.views import APIView

ROOT = Path(settings.BASE_DIR)
# Variables a test run or a developer may have set that would change the outcome.
CLEARED = {
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "BEHIND_TLS_PROXY",
    "DJANGO_ALLOW_ASYNC_UNSAFE",  # set by the browser tests' conftest in this process
}


def manage(*args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in CLEARED}
    clean.update(KIZUNA_VAR_DIR=str(tmp_path / "var"), **env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def production_env() -> dict[str, str]:
    return {"SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "crm.example.jp"}


def test_check_deploy_passes_at_warning_level_with_production_settings(tmp_path):
    result = manage("check", "--deploy", "--fail-level", "WARNING", tmp_path=tmp_path, **production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_fails_when_a_safeguard_is_turned_off(tmp_path):
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        tmp_path=tmp_path,
        SECURE_HSTS_SECONDS="0",
        **production_env(),
    )
    assert result.returncode != 0
    assert "security.W004" in result.stderr  # HSTS


def test_setting_a_secret_key_turns_debug_off_and_the_safeguards_on(tmp_path):
    code = (
        "from django.conf import settings as s; "
        "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, "
        "s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD)"
    )
    result = manage("shell", "-c", code, tmp_path=tmp_path, **production_env())
    assert result.returncode == 0, result.stderr
    values = result.stdout.strip().splitlines()[-1].split()
    assert values == ["False", "True", "True", "True", "31536000", "True", "True"]


def test_embedded_setup_without_variables_runs_in_debug(tmp_path):
    """`make run` sets no variables: DEBUG is on and the embedded key is used (check --deploy flags it)."""
    code = "from django.conf import settings as s; print(s.DEBUG, s.SECRET_KEY.startswith('django-insecure'))"
    result = manage("shell", "-c", code, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == ["True", "True"]


def test_production_mode_refuses_to_start_on_the_embedded_key(tmp_path):
    result = manage("check", tmp_path=tmp_path, DEBUG="false")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "set SECRET_KEY" in result.stderr


# --- Content-Security-Policy ----------------------------------------------------------------------
INLINE_CODE = re.compile(
    r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")|<style\b|\sstyle=|\son[a-z]+=|javascript:",
    re.IGNORECASE,
)


def test_pages_send_a_strict_content_security_policy(client, db):
    response = client.get("/accounts/login/")
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_templates_have_no_inline_script_style_or_event_handler():
    """What the policy would block, caught before a browser sees it (data goes through json_script)."""
    offenders = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if INLINE_CODE.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    assert offenders == []


# --- CSRF -----------------------------------------------------------------------------------------
FORM = re.compile(r"<form\b[^>]*>.*?</form>", re.DOTALL | re.IGNORECASE)
# The one-click unsubscribe (RFC 8058) is posted by mail providers: its signed token is the proof.
CSRF_EXEMPT_TEMPLATES = {"reminders/unsubscribe.html"}


# Plain Django views that take POSTs without a CSRF token, each with the proof that replaces it.
# (DRF API views are exempt by design: DRF enforces CSRF itself for session-authenticated requests.)
CSRF_EXEMPT_VIEWS = {
    "reminders.views.unsubscribe",  # RFC 8058 one-click unsubscribe: the signed token in the URL
    "channels.line_views.line_webhook",  # LINE's servers: X-Line-Signature over the raw body
}


def _url_callbacks(resolver):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _url_callbacks(pattern)
        else:
            yield pattern.callback


def test_only_the_listed_views_skip_csrf():
    exempt = {
        f"{cb.__module__}.{cb.__name__}"
        for cb in _url_callbacks(get_resolver())
        if getattr(cb, "csrf_exempt", False)
        and not (getattr(cb, "cls", None) and issubclass(cb.cls, APIView))
    }
    assert exempt == CSRF_EXEMPT_VIEWS


def test_every_post_form_carries_the_csrf_token():
    missing = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        name = str(path.relative_to(ROOT / "templates"))
        for form in FORM.findall(path.read_text()):
            opening = form.split(">", 1)[0].lower()
            if (
                'method="post"' in opening
                and "{% csrf_token %}" not in form
                and name not in CSRF_EXEMPT_TEMPLATES
            ):
                missing.append(f"{name}: {opening[:80]}")
    assert missing == []


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/accounts/login/", {"username": "a@b.jp", "password": "x"}),
        ("/customers/new/", {"family_name": "山田"}),
        ("/settings/members/", {"email": "x@shop-a.test", "role": "owner"}),
        ("/accounts/two-factor/", {"action": "confirm", "token": "123456"}),
        ("/tenants/", {"tenant": "1"}),
    ],
)
def test_posts_without_the_csrf_token_are_refused(owner, tenant, path, data):
    from crm.models import Membership

    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    members_before = Membership.objects.for_tenant(tenant).count()
    response = client.post(path, data)
    assert response.status_code == 403
    assert Membership.objects.for_tenant(tenant).count() == members_before
