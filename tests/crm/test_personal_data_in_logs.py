"""Personal data never reaches the logs: failing sends, failing imports and server errors.

The log output read here is the real console handler configured from settings.LOGGING (with its
redaction filter), its stream swapped for a buffer during each test.
"""

from __future__ import annotations

import io
import logging
import re
import runpy
import smtplib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.mail.backends.base import BaseEmailBackend
from django.db import IntegrityError
from django.test import Client
from django.utils import timezone

from crm.security.logredact import EMAIL_MASK, PHONE_MASK, RedactPersonalData, redact
from customers.imports.enqueue import import_job_create
from customers.tasks import import_csv_task
from reminders.dispatch import reminders_claim_due
from reminders.models import Reminder
from reminders.planner import plan_reminders
from reminders.services import reminder_defaults_create
from reminders.tasks import send_reminder_batch
from tests.factories import CustomerFactory, VehicleFactory

pytestmark = pytest.mark.django_db

EMAIL = "yamada.taro@example.jp"
PHONE = "090-1234-5678"
NAME = "山田"


@pytest.fixture
def log_output():
    """What the configured console handler writes (the handler carrying the redaction filter)."""
    handlers = [
        h
        for h in logging.getLogger().handlers
        if isinstance(h, logging.StreamHandler) and any(isinstance(f, RedactPersonalData) for f in h.filters)
    ]
    assert handlers, "settings.LOGGING must put the redaction filter on the console handler"
    buffer = io.StringIO()
    previous = [h.setStream(buffer) for h in handlers]
    yield buffer
    for handler, stream in zip(handlers, previous, strict=True):
        handler.setStream(stream)


def assert_no_personal_data(text: str) -> None:
    assert EMAIL not in text
    assert "yamada.taro" not in text
    assert PHONE not in text and "09012345678" not in text
    assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", text), text


@pytest.fixture
def customer(tenant):
    return CustomerFactory(
        tenant=tenant,
        family_name=NAME,
        given_name="太郎",
        email=EMAIL,
        phone=PHONE,
        consent="opted_in",
        consent_at=timezone.now(),
        consent_source="shop form",
    )


class RefusingBackend(BaseEmailBackend):
    """An SMTP server that refuses the recipient, naming the address (as real servers do)."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPRecipientsRefused({EMAIL: (550, f"5.1.1 <{EMAIL}> {PHONE}: no such user".encode())})


def test_a_refused_send_logs_the_failure_without_the_address(tenant, customer, settings, log_output):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    settings.REMINDER_MAX_ATTEMPTS = 1
    on = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)
    reminder_defaults_create(tenant=tenant)
    VehicleFactory(customer=customer, inspection_expiry=on.date() + timedelta(days=30))
    plan_reminders(on=on.date())
    reminders_claim_due(now=on)
    reminder = Reminder.objects.for_tenant(tenant).get(customer=customer)

    send_reminder_batch.apply(args=(tenant.pk, [reminder.pk]), throw=False)
    # A log call that names the customer and the refusal, as a developer might write one.
    logging.getLogger("reminders.sending").warning(
        "send failed for %s: %s", customer, smtplib.SMTPRecipientsRefused({EMAIL: (550, PHONE.encode())})
    )

    reminder.refresh_from_db()
    assert reminder.status == "failed"
    text = log_output.getvalue()
    assert f"send failed for <Customer {customer.pk}>" in text and EMAIL_MASK in text
    assert_no_personal_data(text)
    assert NAME not in text


def test_a_failing_import_logs_the_error_without_the_row(tenant, owner, monkeypatch, log_output):
    upload = SimpleUploadedFile(
        "customers.csv", f"family_name,email,phone\n{NAME},{EMAIL},{PHONE}\n".encode(), "text/csv"
    )
    job = import_job_create(tenant=tenant, kind="customers", upload=upload, created_by=owner)

    def fail(**kwargs):
        raise IntegrityError(
            "duplicate key value violates unique constraint\n"
            f"DETAIL:  Key (email, phone)=({EMAIL}, {PHONE}) exists."
        )

    monkeypatch.setattr("customers.imports.jobs.run_import", fail)
    result = import_csv_task.apply(args=(tenant.pk, job.pk), throw=False)

    assert result.failed()
    text = log_output.getvalue()
    assert "IntegrityError" in text and EMAIL_MASK in text and PHONE_MASK in text
    assert_no_personal_data(text)


def test_a_server_error_logs_the_traceback_without_personal_data(
    tenant, owner, customer, monkeypatch, log_output
):
    def boom(**kwargs):
        raise RuntimeError(f"cannot render {EMAIL} / {PHONE}")

    monkeypatch.setattr("workspace.views.customer_360.customer_get", boom)
    client = Client(raise_request_exception=False)
    client.force_login(owner)
    response = client.get(f"/customers/{customer.pk}/?q={EMAIL}")

    assert response.status_code == 500
    text = log_output.getvalue()
    assert "Internal Server Error" in text and "RuntimeError: cannot render" in text
    assert_no_personal_data(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("to yamada@example.co.jp failed", "to [email] failed"),
        ("tel 03-1234-5678 / 090 1234 5678 / +81-90-1234-5678", "tel [phone] / [phone] / [phone]"),
        ("09012345678", "[phone]"),
        ('"GET /customers/?q=yamada%40example.jp HTTP/1.1" 200', '"GET /customers/?q=[email] HTTP/1.1" 200'),
        ("GET /customers/?q=090-1234-5678", "GET /customers/?q=[phone]"),
        (
            "reminder 12345 tenant 3 on 2026-06-01 took 0.25 s",
            "reminder 12345 tenant 3 on 2026-06-01 took 0.25 s",
        ),
        ("amount 2480000 yen", "amount 2480000 yen"),
    ],
)
def test_redact_masks_addresses_and_phone_numbers_but_not_ids_or_dates(text, expected):
    assert redact(text) == expected


def test_no_code_writes_csv_without_the_formula_safe_helper():
    """Every CSV download goes through crm.common.csvsafe (formula injection), so none can forget it."""
    root = Path(settings.BASE_DIR)
    offenders = []
    for app in ("crm", "customers", "interactions", "reminders", "analytics"):
        for path in (root / app).rglob("*.py"):
            if path.name == "csvsafe.py" or "migrations" in path.parts:
                continue
            source = path.read_text()
            if "csv.writer(" in source or "csv.DictWriter(" in source or 'content_type="text/csv' in source:
                offenders.append(str(path.relative_to(root)))
    assert offenders == []


def test_gunicorn_access_log_leaves_out_query_strings_and_referrers():
    config = runpy.run_path(str(Path(settings.BASE_DIR) / "gunicorn.conf.py"))
    fmt = config["access_log_format"]
    assert "%(U)s" in fmt  # the path alone
    for with_query in ("%(r)s", "%(q)s", "%(f)s", "%({"):
        assert with_query not in fmt


def test_celery_worker_handlers_get_the_filter():
    """A worker replaces the root handlers with its own; the signal handler filters those too."""
    from celery import signals

    logger = logging.getLogger("kizuna.test.worker")
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        signals.after_setup_logger.send(sender=None, logger=logger, loglevel=logging.INFO, logfile=None)
        signals.after_setup_task_logger.send(sender=None, logger=logger, loglevel=logging.INFO, logfile=None)
        logger.warning("retry for %s at %s", EMAIL, PHONE)
    finally:
        logger.removeHandler(handler)
    assert sum(isinstance(f, RedactPersonalData) for f in handler.filters) == 1
    assert buffer.getvalue().strip() == f"retry for {EMAIL_MASK} at {PHONE_MASK}"
