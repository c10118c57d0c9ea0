"""The e-mail of one reminder: the template in the customer's language, rendered, with the sender's
identification and the one-click opt-out the 特定電子メール法 asks for."""

from __future__ import annotations

from email.utils import formataddr
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format

from crm.models import Tenant
from reminders.links import booking_url
from reminders.models import Reminder, ReminderTemplate
from reminders.services import unsubscribe_token
from reminders.templating import BOOKING_CONTEXT_FIELDS, render_email


def _one_line(value: str) -> str:
    """Header-safe text: every run of whitespace (including CR/LF) becomes one space."""
    return " ".join(str(value).split())


def shop_sender_email(tenant: Tenant) -> str:
    """The shop's sender address, or "" when unset or not a valid address.

    The settings form validates it, but a row written another way (admin, SQL, import) with CR/LF or
    other junk must never reach a header: such a shop sends from DEFAULT_FROM_EMAIL instead.
    """
    try:
        validate_email(tenant.sender_email)
        local, domain = tenant.sender_email.rsplit("@", 1)
        address = f"{local}@{domain.encode('idna').decode('ascii')}"  # a Japanese domain as punycode
    except (ValidationError, UnicodeError):
        return ""
    return address if address.isascii() else ""


def sender_address(tenant: Tenant) -> str:
    email = shop_sender_email(tenant)
    if not email:
        return settings.DEFAULT_FROM_EMAIL
    return formataddr((_one_line(tenant.sender_name or tenant.name), email))


def message_id(reminder: Reminder) -> str:
    """Deterministic: a resend of one reminder carries the same Message-ID, so it can be de-duplicated."""
    domain = "kizuna.localhost"
    email = shop_sender_email(reminder.tenant)
    if email:
        domain = email.rsplit("@", 1)[1]
    return f"<reminder.{reminder.tenant_id}.{reminder.pk}@{domain}>"


def unsubscribe_url(*, tenant_id: int, customer_id: int) -> str:
    token = unsubscribe_token(tenant_id=tenant_id, customer_id=customer_id)
    return settings.SITE_URL.rstrip("/") + reverse("unsubscribe", args=[token])


def template_context(reminder: Reminder, language: str) -> dict[str, str]:
    customer, vehicle, tenant = reminder.customer, reminder.vehicle, reminder.tenant
    with translation.override(language):
        expiry = vehicle.inspection_expiry if vehicle else None
        name = customer.full_name
        return {
            "customer_name": f"{name} 様" if language == "ja" else name,
            "customer_family_name": customer.family_name,
            "vehicle": f"{vehicle.maker} {vehicle.model_name}" if vehicle else "",
            "plate_number": vehicle.plate_number if vehicle else "",
            "inspection_expiry": date_format(expiry, "DATE_FORMAT") if expiry else "",
            "due_date": date_format(reminder.occasion_date, "DATE_FORMAT"),
            "shop_name": tenant.name,
            "shop_phone": tenant.phone,
            "shop_address": tenant.address,
            "staff_name": str(customer.assigned_staff) if customer.assigned_staff else "",
            # A preview has no saved reminder, hence no link of its own.
            "booking_url": booking_url(
                tenant_id=tenant.pk, reminder_id=reminder.pk, issued_on=reminder.due_date
            )
            if reminder.pk
            else "",
            **{key: "" for key in BOOKING_CONTEXT_FIELDS},
            **{
                key: str(value)
                for key, value in (reminder.context or {}).items()
                if key in BOOKING_CONTEXT_FIELDS
            },
        }


FOOTER = {
    "ja": "\n\n――――――――――\n送信者：{name}\n住所：{address}\n電話：{phone}\nメール：{email}\n"
    "今後このようなメールの配信を希望されない場合は、こちらから配信停止できます：\n{url}\n",
    "en": "\n\n----------\nSent by: {name}\nAddress: {address}\nPhone: {phone}\nE-mail: {email}\n"
    "To stop receiving these e-mails, unsubscribe here:\n{url}\n",
}


def pick_template(reminder: Reminder, templates: dict[tuple[str, str], ReminderTemplate]) -> ReminderTemplate:
    """The rule's template in the customer's language; else the rule's own template (the shop's default).

    Templates in several languages share a name (see `reminder_defaults_create`), so the customer's
    language finds its sibling of the rule's template.
    """
    rule_template = reminder.rule.template
    wanted = getattr(reminder.customer, "language", "") or rule_template.language
    return templates.get((rule_template.name, wanted), rule_template)


def build_message(
    reminder: Reminder, connection: Any = None, *, template: ReminderTemplate | None = None
) -> EmailMessage:
    """The e-mail of one reminder, with sender identification and opt-out (特定電子メール法)."""
    template = template or reminder.rule.template
    language = template.language
    rendered = render_email(
        subject=template.subject, body=template.body, context=template_context(reminder, language)
    )
    tenant = reminder.tenant
    url = unsubscribe_url(tenant_id=reminder.tenant_id, customer_id=reminder.customer_id)
    footer = FOOTER.get(language, FOOTER["en"]).format(
        name=tenant.sender_name or tenant.name,
        address=tenant.address,
        phone=tenant.phone,
        email=shop_sender_email(tenant) or settings.DEFAULT_FROM_EMAIL,  # 特定電子メール法: a contact address
        url=url,
    )
    return EmailMessage(
        subject=rendered.subject,
        body=rendered.body + footer,
        from_email=sender_address(tenant),
        to=[reminder.customer.email],
        connection=connection,
        headers={
            "Message-ID": message_id(reminder),
            "List-Unsubscribe": f"<{url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Content-Language": language,
            "X-Kizuna-Tenant": tenant.slug,
            "X-Kizuna-Reminder": str(reminder.pk),
        },
    )


def templates_by_language(tenant_id: int, reminders: list[Reminder]) -> dict[tuple[str, str], Any]:
    """The tenant's templates that share a name with the batch's rule templates, by (name, language)."""
    names = {r.rule.template.name for r in reminders}
    return {
        (t.name, t.language): t for t in ReminderTemplate.objects.for_tenant(tenant_id).filter(name__in=names)
    }


def preview_email(*, tenant: Tenant, customer, subject: str, body: str, language: str):
    """Render a template for one customer (their first vehicle) without saving or sending anything."""
    vehicle = customer.vehicles.order_by("inspection_expiry", "pk").first()
    occasion = vehicle.inspection_expiry if vehicle and vehicle.inspection_expiry else timezone.localdate()
    draft = Reminder(
        tenant=tenant, customer=customer, vehicle=vehicle, occasion_date=occasion, due_date=occasion
    )
    return render_email(subject=subject, body=body, context=template_context(draft, language))
