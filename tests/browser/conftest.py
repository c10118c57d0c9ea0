"""Real headless Chromium (Debian's) driven by Playwright against pytest-django's live server.

Screenshots of every page visited go to artifacts/screenshots/<name>.png (CI keeps them as artefacts).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings

# Playwright's sync API runs an event loop in this thread; the ORM calls in fixtures are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SCREENSHOTS = Path(settings.BASE_DIR) / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__kizunaCspViolation(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} (${where})`);
});
"""


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server):
    # A laptop at the front desk; the language journey also checks a tablet (1024 px, collapsed menu).
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, locale="ja-JP")
    context.set_default_timeout(15_000)
    # Every Content-Security-Policy violation on any page fails the test: the browser reports each as
    # a `securitypolicyviolation` event (caught by a script Playwright injects outside the policy) and
    # as a console error ("Refused to ...").
    violations: list[str] = []
    context.expose_binding(
        "__kizunaCspViolation", lambda source, text: violations.append(f"{text} on {source['page'].url}")
    )
    context.add_init_script(CSP_LISTENER)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on(
        "console",
        lambda msg: (
            violations.append(f"console: {msg.text}")
            if msg.type == "error" and "Content Security Policy" in msg.text
            else None
        ),
    )
    pg.on(
        "response",
        lambda r: (
            errors.append(f"{r.status} {r.url}") if r.status >= 400 and "favicon" not in r.url else None
        ),
    )
    pg.base = live_server.url
    pg.js_errors = errors
    pg.csp_violations = violations
    yield pg
    context.close()
    assert violations == [], "Content-Security-Policy violations:\n" + "\n".join(violations)


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def login(page, email: str, password: str) -> None:
    page.goto(page.base + "/accounts/login/")
    shot(page, "login")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
