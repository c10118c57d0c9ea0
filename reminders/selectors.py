"""Reads of reminders for the dashboard. Every read takes the tenant; other tenants' rows are 404."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser
from pathlib import Path

from django.conf import settings
from django.db.models import Count, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from crm.models import Tenant
from crm.tenancy.rls import tenant_context
from customers.models import Customer
from interactions.models import CallTask, CallTaskStatus
from reminders.links import BOOKING_LINK_KINDS
from reminders.models import HIDDEN_RULE_KINDS, Reminder, ReminderRule, ReminderStatus, ReminderTemplate
from reminders.services import unsubscribe_token_read

OUTBOX_HEADER = "X-Kizuna-Tenant"
OUTBOX_LIST_LIMIT = 200


def unsubscribe_customer(*, token: str) -> Customer | None:
    """The customer a signed unsubscribe token names (None if deleted since). Raises BadSignature.

    The public page has no session: the tenant for row-level security comes from the signed token.
    """
    tenant_id, customer_id = unsubscribe_token_read(token)
    with tenant_context(tenant_id):
        return Customer.objects.for_tenant(tenant_id).filter(pk=customer_id).first()


def shop_rules(*, tenant: Tenant) -> QuerySet[ReminderRule]:
    """The shop's own rules: not the hidden ones behind campaigns and personal messages."""
    return ReminderRule.objects.for_tenant(tenant).exclude(kind__in=HIDDEN_RULE_KINDS)


def rule_list(*, tenant: Tenant) -> QuerySet[ReminderRule]:
    return shop_rules(tenant=tenant).select_related("template").prefetch_related("steps")


def rule_get(*, tenant: Tenant, pk: int) -> ReminderRule:
    """A shop rule (a campaign's hidden rule is a 404 here: it is edited with its campaign)."""
    return get_object_or_404(shop_rules(tenant=tenant), pk=pk)


def template_list(*, tenant: Tenant) -> QuerySet[ReminderTemplate]:
    return ReminderTemplate.objects.for_tenant(tenant)


def template_get(*, tenant: Tenant, pk: int) -> ReminderTemplate:
    return get_object_or_404(ReminderTemplate.objects.for_tenant(tenant), pk=pk)


def template_booking_rules(*, tenant: Tenant, template: ReminderTemplate) -> list[ReminderRule]:
    """The rules of bookable occasions (車検, checks, tyre season) that send this template or one of
    its other-language siblings (templates in several languages share a name)."""
    return list(
        ReminderRule.objects.for_tenant(tenant)
        .filter(template__name=template.name, kind__in=BOOKING_LINK_KINDS)
        .order_by("name")
    )


def reminder_queue(*, tenant: Tenant, status: str = "") -> QuerySet[Reminder]:
    qs = Reminder.objects.for_tenant(tenant).select_related("customer", "vehicle", "rule")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-due_date", "-id")


def reminders_failed(*, tenant: Tenant) -> QuerySet[Reminder]:
    """Reminders that failed for good (shown on Today so someone reaches the customer), newest first."""
    return (
        Reminder.objects.for_tenant(tenant)
        .filter(status=ReminderStatus.FAILED)
        .select_related("customer", "rule")
        .order_by("-updated_at", "-pk")
    )


def reminder_status_counts(*, tenant: Tenant) -> dict[str, int]:
    rows = Reminder.objects.for_tenant(tenant).values("status").annotate(n=Count("id")).order_by()
    return {row["status"]: row["n"] for row in rows}


def reminder_call_tasks(*, tenant: Tenant, status: str = CallTaskStatus.OPEN) -> QuerySet[CallTask]:
    qs = CallTask.objects.for_tenant(tenant).select_related("customer", "assigned_to")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("due_date", "id")


# --- the embedded outbox (.eml files written by crm.common.mail.OutboxEmailBackend) ----------------------
def _parse(path: Path):
    with path.open("rb") as fh:
        return BytesParser(policy=policy.default).parse(fh)


def outbox_messages(*, tenant: Tenant, limit: int = OUTBOX_LIST_LIMIT) -> list[dict]:
    """The newest messages of this tenant in the outbox folder (tenant told by the X-Kizuna-Tenant header)."""
    folder = Path(settings.OUTBOX_DIR)
    if not folder.is_dir():
        return []
    files = sorted((p for p in folder.glob("*.eml") if p.is_file()), key=lambda p: p.name, reverse=True)
    found = []
    for path in files:
        msg = _parse(path)
        if msg.get(OUTBOX_HEADER) != tenant.slug:
            continue
        found.append(
            {
                "name": path.name,
                "subject": msg.get("Subject", ""),
                "to": msg.get("To", ""),
                "date": msg.get("Date", ""),
            }
        )
        if len(found) >= limit:
            break
    return found


def outbox_message_get(*, tenant: Tenant, name: str) -> dict:
    folder = Path(settings.OUTBOX_DIR).resolve()
    path = (folder / name).resolve()
    if path.parent != folder or path.suffix != ".eml" or not path.is_file():
        raise Http404
    msg = _parse(path)
    if msg.get(OUTBOX_HEADER) != tenant.slug:
        raise Http404
    body = msg.get_body(preferencelist=("plain",))
    return {
        "name": path.name,
        "subject": msg.get("Subject", ""),
        "to": msg.get("To", ""),
        "from": msg.get("From", ""),
        "date": msg.get("Date", ""),
        "headers": list(msg.items()),
        "body": body.get_content() if body is not None else "",
    }
