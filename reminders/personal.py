"""One-off messages from a staff member to one customer (the weekly list's "message" button).

A personal message is one Reminder row on a hidden rule of kind `personal` (never planned by the
planner, not listed with the shop's rules), so it gets the outbox's guarantees and checks: the
dispatcher picks the customer's channel (channels.selectors, their consent and the shop's order) when
it claims the row inside the shop's send window, the send step checks consent and the address again,
and a customer nobody can reach becomes a call task. Here we refuse up front when no channel the
customer agreed to exists (so staff learn it at the click, not a day later), and a second message to
the same customer for the same occasion is refused (never twice).
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from channels.models import MessageChannel
from channels.selectors import channels_for_customers, choose_channel
from crm.common.errors import ApplicationError
from crm.models import Tenant
from customers.models import Customer, Vehicle
from reminders.models import Language, Reminder, ReminderRule, ReminderStatus, ReminderTemplate, RuleKind
from reminders.services import reminder_rule_create, reminder_template_create

STEP = 1
PERSONAL_TEMPLATE_NAME = "担当者からのご案内"
# A short personal note goes by e-mail, LINE or SMS; a postcard is a print run, not a one-off click.
PERSONAL_CHANNELS = ",".join([MessageChannel.EMAIL, MessageChannel.LINE, MessageChannel.SMS])
PERSONAL_TEMPLATES = (
    (
        "{{ shop_name }}からのご案内",
        "{{ customer_name }}\n\nいつも{{ shop_name }}をご利用いただきありがとうございます。\n"
        "{{ vehicle }}のことで、担当の{{ staff_name|default(shop_name, true) }}より"
        "ご案内したいことがございます。\n"
        "ご都合のよい時にお電話（{{ shop_phone }}）か、こちらからご連絡ください：\n{{ booking_url }}",
    ),
    (
        "A note from {{ shop_name }}",
        "Dear {{ customer_name }},\n\nThank you for choosing {{ shop_name }}. "
        "{{ staff_name|default(shop_name, true) }} would like to talk to you about your {{ vehicle }}.\n"
        "Call us on {{ shop_phone }} whenever it suits you, or book here:\n{{ booking_url }}",
    ),
)


class CustomerUnreachable(ApplicationError):
    """No channel the customer agreed to (and the message may use) can reach them."""


class AlreadyMessaged(ApplicationError):
    """A personal message for this customer and occasion exists already."""


def _shop_today(tenant: Tenant) -> date:
    return timezone.now().astimezone(ZoneInfo(tenant.time_zone or "Asia/Tokyo")).date()


def personal_template_default(*, tenant: Tenant) -> ReminderTemplate:
    """The shop's default personal-message template (Japanese, with its English sibling), made on first
    use."""
    existing = (
        ReminderTemplate.objects.for_tenant(tenant)
        .filter(name=PERSONAL_TEMPLATE_NAME, language=Language.JA)
        .first()
    )
    if existing is not None:
        return existing
    (ja_subject, ja_body), (en_subject, en_body) = PERSONAL_TEMPLATES
    ja = reminder_template_create(
        tenant=tenant, name=PERSONAL_TEMPLATE_NAME, language=Language.JA, subject=ja_subject, body=ja_body
    )
    reminder_template_create(
        tenant=tenant, name=PERSONAL_TEMPLATE_NAME, language=Language.EN, subject=en_subject, body=en_body
    )
    return ja


def personal_rule_for(*, tenant: Tenant, template: ReminderTemplate) -> ReminderRule:
    """The hidden personal rule carrying `template` (one per template the shop has chosen)."""
    rule = ReminderRule.objects.for_tenant(tenant).filter(kind=RuleKind.PERSONAL, template=template).first()
    if rule is not None:
        return rule
    return reminder_rule_create(
        tenant=tenant,
        name=template.name,
        kind=RuleKind.PERSONAL,
        template=template,
        allowed_channels=PERSONAL_CHANNELS,
        offsets=[0],
    )


@transaction.atomic
def personal_message_queue(
    *,
    tenant: Tenant,
    customer: Customer,
    vehicle: Vehicle | None,
    occasion_date: date,
    template: ReminderTemplate | None = None,
) -> Reminder:
    """Plan one personal message to `customer`, due today (the dispatcher sends it in the send window).

    Raises CustomerUnreachable when no allowed channel reaches the customer (no consent, no LINE link,
    no address), AlreadyMessaged when a personal message for this customer and occasion exists.
    """
    if customer.tenant_id != tenant.pk:
        raise ApplicationError(_("Customer not found."))
    if template is not None and template.tenant_id != tenant.pk:
        raise ApplicationError(_("Template not found."))
    rule = personal_rule_for(tenant=tenant, template=template or personal_template_default(tenant=tenant))
    receivable = channels_for_customers(tenant_id=tenant.pk, customer_ids=[customer.pk])[customer.pk]
    if customer.erased_at is not None or choose_channel(receivable, rule.channels) is None:
        raise CustomerUnreachable(
            _(
                "This customer cannot be reached by e-mail, LINE or SMS (no consent or no address). "
                "Make a call task instead."
            )
        )
    sent_before = Reminder.objects.for_tenant(tenant).filter(
        rule__kind=RuleKind.PERSONAL, customer=customer, occasion_date=occasion_date
    )
    if sent_before.exists():
        raise AlreadyMessaged(_("A message to this customer was already sent from this week's list."))
    reminder = Reminder(
        tenant=tenant,
        rule=rule,
        step=STEP,
        customer=customer,
        vehicle=vehicle,
        occasion_date=occasion_date,
        due_date=_shop_today(tenant),
        status=ReminderStatus.PENDING,
    )
    try:
        with transaction.atomic():
            reminder.save()
    except IntegrityError as exc:  # a concurrent click won the unique index
        raise AlreadyMessaged(
            _("A message to this customer was already sent from this week's list.")
        ) from exc
    return reminder
