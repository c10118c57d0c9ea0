"""Online booking in a real browser (marked `browser`), at a phone's 390 px and a desk's 1280 px:
the customer books from the link in a reminder e-mail taken from the outbox, the shop confirms the
request in the calendar, marks the work done and the service record exists. Screenshots:
artifacts/screenshots/booking_*.png."""

from __future__ import annotations

import re
from datetime import timedelta
from email import message_from_bytes

import pytest
from django.conf import settings
from django.utils import timezone

from bookings.models import Booking, BookingStatus, WorkType
from bookings.services import booking_defaults_create
from bookings.tokens import shop_token
from customers.models import ServiceRecord
from reminders import transactional
from reminders.models import Reminder, ReminderStatus
from reminders.planner import plan_reminders
from reminders.sending import reminder_send
from reminders.services import reminder_defaults_create
from tests.bookings.conftest import next_open_day
from tests.browser.conftest import CSP_LISTENER, login, shot
from tests.browser.test_layout_and_a11y import PAGE_OVERFLOW, UNLABELLED_INPUTS
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory, MembershipFactory, TenantFactory, UserFactory, VehicleFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shop(transactional_db, settings, monkeypatch):
    settings.EMAIL_BACKEND = "crm.common.mail.OutboxEmailBackend"
    settings.SITE_URL = "https://kizuna.example"
    # No worker in this test: the confirmation's send task runs in place, after the booking commits.
    monkeypatch.setattr(
        transactional,
        "enqueue_sends",
        lambda pairs: [reminder_send(tenant_id=t, reminder_id=r) for t, r in pairs],
    )
    tenant = TenantFactory(slug="kizuna-motors", name="絆モータース 渋谷店")
    user = UserFactory(email="sato@kizuna.test", password=PASSWORD, display_name="佐藤 店長")
    MembershipFactory(tenant=tenant, user=user, role="owner")
    booking_defaults_create(tenant=tenant)
    reminder_defaults_create(tenant=tenant)
    customer = CustomerFactory(
        tenant=tenant,
        family_name="山田",
        given_name="花子",
        consent="opted_in",
        consent_at=timezone.now(),
        consent_source="店頭",
    )
    today = timezone.localdate()
    vehicle = VehicleFactory(
        customer=customer, inspection_expiry=today + timedelta(days=30), plate_number="品川 300 さ 12-34"
    )
    return {"tenant": tenant, "customer": customer, "vehicle": vehicle}


def _reminder_email_link(tenant, vehicle) -> tuple[str, str]:
    """Plan and send the 車検 reminder into the outbox; return the booking link of the .eml and its text."""
    plan_reminders(on=timezone.localdate())
    reminder = Reminder.objects.for_tenant(tenant).filter(vehicle=vehicle, due_date__lte=timezone.localdate())
    reminder = reminder.order_by("-due_date").first()
    Reminder.objects.for_tenant(tenant).filter(pk=reminder.pk).update(status=ReminderStatus.QUEUED)
    assert reminder_send(tenant_id=tenant.pk, reminder_id=reminder.pk) == "sent"
    [eml] = sorted((settings.OUTBOX_DIR).glob("*.eml"))
    body = _body(eml)
    match = re.search(r"https?://\S+/b/r/[^/\s]+/", body)
    assert match, body
    return match.group(0), body


def _body(eml) -> str:
    message = message_from_bytes(eml.read_bytes())
    return next(
        part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
        for part in message.walk()
        if part.get_content_type() == "text/plain"
    )


def _phone_page(chromium, live_server):
    context = chromium.new_context(
        viewport={"width": 390, "height": 844}, locale="ja-JP", is_mobile=True, has_touch=True
    )
    violations: list[str] = []
    context.expose_binding("__kizunaCspViolation", lambda source, text: violations.append(text))
    context.add_init_script(CSP_LISTENER)
    return context, context.new_page(), violations


def test_a_customer_books_from_the_reminder_email_and_the_shop_confirms_and_completes(
    chromium, page, live_server, shop
):
    tenant, vehicle = shop["tenant"], shop["vehicle"]
    link, body = _reminder_email_link(tenant, vehicle)
    assert "12-34" in body  # the e-mail is the customer's own: it may show their plate
    path = link.split("/b/", 1)[1]
    day = next_open_day(timezone.localdate())

    # --- the customer, on a phone ---
    context, phone, violations = _phone_page(chromium, live_server)
    try:
        phone.goto(f"{live_server.url}/b/{path}?from={day.isoformat()}")
        phone.wait_for_selector("h1")
        assert "•••• 34" in phone.inner_text("header") and "山田" not in phone.content()
        assert phone.evaluate(PAGE_OVERFLOW) <= 0
        assert phone.evaluate(UNLABELLED_INPUTS) == []
        shot(phone, "booking_390_public_page")
        phone.click(f"label[for='slot-{day.isoformat()}T10:00']")
        phone.click("#book-submit")
        phone.wait_for_selector("#booking-summary")
        assert "ご予約を承りました" in phone.inner_text("h1")
        shot(phone, "booking_390_confirmation")
        assert violations == []
    finally:
        context.close()
    booking = Booking.objects.for_tenant(tenant).get()
    assert (booking.status, booking.vehicle_id) == (BookingStatus.REQUESTED, vehicle.pk)
    # The confirmation e-mail is in the outbox, with the booking's own link.
    confirmation = [b for b in map(_body, sorted(settings.OUTBOX_DIR.glob("*.eml"))) if "/b/m/" in b]
    assert len(confirmation) == 1 and "10:00" in confirmation[0]
    # The reminder's remaining 車検 steps are skipped: the occasion is booked.
    assert (
        not Reminder.objects.for_tenant(tenant)
        .filter(vehicle=vehicle, rule__kind="inspection", status__in=["pending", "queued"])
        .exists()
    )

    # --- the shop, at the desk ---
    login(page, "sato@kizuna.test", PASSWORD)
    page.goto(f"{page.base}/bookings/?date={day.isoformat()}")
    page.wait_for_selector(f"#booking-{booking.pk}")
    shot(page, "booking_1280_calendar_request")
    page.click(f"#booking-{booking.pk} [data-action=confirm]")  # htmx swaps the card
    page.wait_for_selector(f"#booking-{booking.pk}[data-status=confirmed]")
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    page.goto(f"{page.base}/bookings/?date={day.isoformat()}&view=week")
    page.wait_for_selector("#calendar")
    shot(page, "booking_1280_calendar_week")
    page.goto(f"{page.base}/bookings/?date={day.isoformat()}")
    page.click(f"#booking-{booking.pk} [data-action=done]")
    page.fill("#id_mileage", "41230")
    page.fill("#id_amount", "98000")
    shot(page, "booking_1280_done_form")
    page.click("#done-submit")
    page.wait_for_selector(".alert-success")
    shot(page, "booking_1280_calendar_done")
    record = ServiceRecord.objects.for_tenant(tenant).get()
    assert (record.kind, record.mileage, record.amount, record.vehicle_id) == (
        "shaken",
        41_230,
        98_000,
        vehicle.pk,
    )
    booking.refresh_from_db()
    assert booking.status == BookingStatus.DONE and booking.service_record_id == record.pk
    assert page.js_errors == []


def test_the_public_page_at_phone_and_desk_widths_without_overflow(chromium, page, live_server, shop):
    url = f"{live_server.url}/b/s/{shop_token(tenant_id=shop['tenant'].pk)}/"
    context, phone, violations = _phone_page(chromium, live_server)
    try:
        phone.goto(url)
        oil = WorkType.objects.for_tenant(shop["tenant"]).get(code="oil_change")
        phone.select_option("#work", str(oil.pk))  # kizuna.js submits the choice (data-autosubmit)
        phone.wait_for_selector(".slot-grid")
        assert phone.evaluate(PAGE_OVERFLOW) <= 0
        assert phone.evaluate(UNLABELLED_INPUTS) == []
        shot(phone, "booking_390_shop_link")
        assert violations == []
    finally:
        context.close()
    page.goto(url)
    page.wait_for_selector("h1")
    shot(page, "booking_1280_shop_link")
    assert page.js_errors == []
