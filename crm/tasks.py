"""Housekeeping of the crm app: login records are personal data (e-mail address, IP) and are kept only
as long as they serve security."""

from __future__ import annotations

from datetime import timedelta

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from celery import shared_task
from django.conf import settings
from django.utils import timezone


def login_records_prune(*, now=None) -> dict[str, int]:
    """Delete login records older than `LOGIN_RECORD_RETENTION_DAYS`; returns the rows deleted per kind.

    Failed-login counters (AccessAttempt) older than that have long passed their cool-off, so a lockout
    in force is never lifted early. Not tenant data (users are global), so no tenant context is needed.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.LOGIN_RECORD_RETENTION_DAYS)
    return {
        "access_logs": AccessLog.objects.filter(attempt_time__lt=cutoff).delete()[0],
        "failure_logs": AccessFailureLog.objects.filter(attempt_time__lt=cutoff).delete()[0],
        "attempts": AccessAttempt.objects.filter(attempt_time__lt=cutoff).delete()[0],
    }


@shared_task(name="crm.tasks.prune_login_records")
def prune_login_records() -> dict[str, int]:
    return login_records_prune()
