"""Every main page works under the strict Content-Security-Policy (marked `browser`).

The `page` fixture fails the test on any CSP violation (event or console report); this journey makes
sure each page of the dashboard is visited at least once, with real data so that charts, the deal
board and the timeline render.
"""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.utils import timezone

from bookings.models import Booking
from bookings.tokens import manage_token, shop_token
from channels.line_linking import link_token_make
from channels.models import ChannelSettings, MessageChannel
from crm.models import Membership, Tenant
from crm.tenancy.rls import tenant_context
from customers.models import Customer, Vehicle
from reminders.links import booking_token
from reminders.models import Reminder, ReminderStatus, ReminderTemplate
from reminders.postcards.services import print_batch_create
from reminders.services import unsubscribe_token
from tests.browser.conftest import login, shot
from tests.browser.test_layout_and_a11y import UNLABELLED_INPUTS
from tests.conftest import PASSWORD
from tests.factories import MembershipFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CSP_HEADER = "Content-Security-Policy"
DANGLING_ARIA_REFERENCES = """() => [...document.querySelectorAll('[aria-describedby], [aria-labelledby]')]
  .flatMap(el => ['aria-describedby', 'aria-labelledby']
    .flatMap(attr => (el.getAttribute(attr) || '').split(/\\s+/).filter(Boolean))
    .filter(id => !document.getElementById(id)))"""
SLOW = 90_000  # ms: the API documentation loads megabytes of JavaScript, slow on a busy 2-core machine


@pytest.fixture
def demo_shop(transactional_db):
    call_command("seed_demo", tenant="csp-shop", customers=120, years=3, verbosity=0)
    tenant = Tenant.objects.get(slug="csp-shop")
    owner = UserFactory(email="csp-owner@kizuna.test", password=PASSWORD, display_name="CSP 店長")
    MembershipFactory(tenant=tenant, user=owner, role="owner")
    return tenant


def test_every_main_page_renders_under_the_content_security_policy(page, demo_shop):
    tenant = demo_shop
    customer = Customer.objects.for_tenant(tenant).order_by("pk").first()
    vehicle = Vehicle.objects.for_tenant(tenant).order_by("pk").first()
    template = ReminderTemplate.objects.for_tenant(tenant).order_by("pk").first()
    # A print batch with one card and one bad address, so its page shows both lists and the post form.
    Reminder.objects.for_tenant(tenant).filter(
        pk__in=Reminder.objects.for_tenant(tenant).order_by("pk").values("pk")[:2]
    ).update(status=ReminderStatus.QUEUED, channel=MessageChannel.POSTCARD, due_date=timezone.localdate())
    first = Reminder.objects.for_tenant(tenant).filter(channel=MessageChannel.POSTCARD).order_by("pk").first()
    Customer.objects.for_tenant(tenant).filter(pk=first.customer_id).update(postal_code="")
    with tenant_context(tenant.pk):
        batch = print_batch_create(tenant=tenant, due_until=timezone.localdate())
    # Another member (one with customers, so the removal page shows its successor choice).
    member = (
        Membership.objects.for_tenant(tenant)
        .exclude(user__email="csp-owner@kizuna.test")
        .order_by("pk")
        .first()
    )
    # seed_demo gave the shop capacity and a week of bookings.
    booking = Booking.objects.for_tenant(tenant).order_by("starts_at").first()
    booking_day = timezone.localtime(booking.starts_at).date().isoformat()
    # LINE QR codes render (seed_demo already gave the shop its LINE account's ids).
    ChannelSettings.objects.update_or_create(tenant=tenant, defaults={"line_basic_id": "@csp-shop"})
    login(page, "csp-owner@kizuna.test", PASSWORD)
    page.wait_for_selector("h1")
    if "/tenants/" in page.url:  # the demo owner is a member of one shop only, but be explicit
        page.click(f"button[value='{tenant.pk}']")
    pages = [
        ("today", "/"),
        ("customers", "/customers/"),
        ("customer_360", f"/customers/{customer.pk}/"),
        ("customer_edit", f"/customers/{customer.pk}/edit/"),
        ("customer_new", "/customers/new/"),
        ("vehicles", "/customers/vehicles/"),
        ("vehicle", f"/customers/vehicles/{vehicle.pk}/"),
        ("deals", "/deals/"),
        ("reminders", "/reminders/"),
        ("reminder_rules", "/reminders/rules/"),
        ("reminder_templates", "/reminders/templates/"),
        ("reminder_template", f"/reminders/templates/{template.pk}/"),
        ("reminder_calls", "/reminders/calls/"),
        ("reminder_outbox", "/reminders/outbox/"),
        ("reminder_postcards", "/reminders/postcards/"),
        ("reminder_postcard_batch", f"/reminders/postcards/{batch.pk}/"),
        ("analytics", "/analytics/"),
        ("analytics_kpi", "/analytics/kpi/"),
        ("analytics_conversion", "/analytics/conversion/"),
        ("analytics_migration", "/analytics/migration/"),
        ("analytics_ltv", "/analytics/ltv/"),
        ("analytics_demographics", "/analytics/demographics/"),
        ("analytics_segment_map", "/analytics/segment-map/"),
        ("results", "/results/"),
        ("import", "/customers/import/"),
        ("settings", "/settings/"),
        ("settings_members", "/settings/members/"),
        ("settings_member_remove", f"/settings/members/{member.pk}/remove/"),
        ("settings_api_keys", "/settings/api-keys/"),
        ("settings_handover", "/settings/handover/"),
        ("settings_channels", "/settings/channels/"),
        ("customer_channels", f"/customers/{customer.pk}/channels/"),
        ("outbox_line", "/outbox/line/"),
        ("outbox_sms", "/outbox/sms/"),
        ("tenant_picker", "/tenants/"),
        ("password_change", "/accounts/password_change/"),
        ("two_factor", "/accounts/two-factor/"),
        ("bookings_day", f"/bookings/?date={booking_day}"),
        ("bookings_week", f"/bookings/?date={booking_day}&view=week"),
        ("bookings_capacity", "/bookings/capacity/"),
        ("booking_new", f"/bookings/new/?customer={customer.pk}"),
        ("booking_move", f"/bookings/{booking.pk}/move/"),
        ("booking_done", f"/bookings/{booking.pk}/done/"),
        ("line_inbox", "/line/inbox/"),
        ("line_counter_qr", "/line/counter-qr/"),
    ]
    a11y = []  # dangling aria references and inputs without a label, over every page
    for name, path in pages:
        response = page.goto(page.base + path)
        assert response.status == 200, (path, response.status)
        policy = response.headers.get(CSP_HEADER.lower(), "")
        assert "default-src 'self'" in policy, path
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, path
        page.wait_for_selector("h1")
        page.wait_for_load_state("networkidle")
        shot(page, f"csp_{name}")
        # Every aria-describedby / aria-labelledby points at an element on the page (a screen reader
        # reads nothing for a missing one).
        a11y += [(path, ref) for ref in page.evaluate(DANGLING_ARIA_REFERENCES)]
        a11y += [(path, html) for html in page.evaluate(UNLABELLED_INPUTS)]
        if path == "/analytics/":
            # Chart.js drew into its canvases (it needs neither eval nor inline styles).
            drawn = page.eval_on_selector_all(
                "canvas[data-chart]", "cs => cs.filter(c => c.width > 0).length"
            )
            assert drawn >= 1
    assert a11y == []
    # The public unsubscribe page has its own layout.
    token = unsubscribe_token(tenant_id=tenant.pk, customer_id=customer.pk)
    response = page.goto(page.base + f"/u/{token}/")
    assert response.status == 200
    page.wait_for_selector("h1")
    shot(page, "csp_unsubscribe")
    # So has the LINE link page the bot sends after a follow.
    response = page.goto(
        page.base + f"/line/link/{link_token_make(tenant_id=tenant.pk, line_user_id='U' + '1' * 32)}/"
    )
    assert response.status == 200
    page.wait_for_selector("h1")
    shot(page, "csp_line_link")
    # The public booking pages have their own layout too: the shop link, a reminder's link, a booking's.
    reminder = Reminder.objects.for_tenant(tenant).filter(vehicle__isnull=False).order_by("pk").first()
    for name, path in [
        ("booking_shop_link", f"/b/s/{shop_token(tenant_id=tenant.pk)}/"),
        ("booking_reminder_link", f"/b/r/{booking_token(tenant_id=tenant.pk, reminder_id=reminder.pk)}/"),
        ("booking_manage", f"/b/m/{manage_token(tenant_id=tenant.pk, booking_id=booking.pk)}/?move=1"),
    ]:
        response = page.goto(page.base + path)
        assert response.status == 200, path
        assert "unsafe-inline" not in response.headers.get(CSP_HEADER.lower(), ""), path
        page.wait_for_selector("h1")
        shot(page, f"csp_{name}")
        a11y += [(path, ref) for ref in page.evaluate(DANGLING_ARIA_REFERENCES)]
        a11y += [(path, html) for html in page.evaluate(UNLABELLED_INPUTS)]
    assert a11y == []
    assert page.js_errors == []
    assert page.csp_violations == []


def test_the_violation_check_catches_inline_code(page):
    """The guard itself: an inline script and an inline style attribute are blocked and reported."""
    page.goto(page.base + "/accounts/login/")
    page.evaluate(
        """() => {
            const s = document.createElement("script");
            s.textContent = "window.__inlineRan = true";
            document.body.append(s);
            document.body.setAttribute("style", "color: red");
        }"""
    )
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.__inlineRan === undefined")
    reported = " ".join(page.csp_violations)
    assert "script-src" in reported and "style-src" in reported
    page.csp_violations.clear()  # caused on purpose: the fixture's final check must not fail this test


def test_api_docs_and_admin_login_render_under_their_policy(page):
    """Swagger UI (served from drf-spectacular-sidecar) and the admin login work without CSP errors."""
    response = page.goto(page.base + "/api/docs/", wait_until="domcontentloaded", timeout=SLOW)
    assert response.status == 200
    page.wait_for_selector(".swagger-ui .info", timeout=SLOW)
    shot(page, "csp_api_docs")
    response = page.goto(page.base + "/api/docs/redoc/", wait_until="domcontentloaded", timeout=SLOW)
    assert response.status == 200
    assert (
        "'unsafe-inline'"
        not in response.headers["content-security-policy"].split("script-src")[1].split(";")[0]
    )
    page.wait_for_selector("h1", timeout=SLOW)  # Redoc rendered the API title
    # Redoc's "powered by" logo points at its maker's CDN: the policy blocks it, as it should.
    expected = [v for v in page.csp_violations if "cdn.redoc.ly" in v]
    page.csp_violations[:] = [v for v in page.csp_violations if v not in expected]
    response = page.goto(page.base + "/admin/login/", timeout=SLOW)
    assert response.status == 200
    page.wait_for_selector("#id_username")  # the admin logs in through the site's own login page
    assert page.url.endswith("/accounts/login/?next=/admin/")
    assert page.js_errors == []
