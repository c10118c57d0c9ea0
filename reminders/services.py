"""Write use-cases of reminders: rules, templates, defaults for a new tenant, unsubscribe."""

from __future__ import annotations

from typing import Any

from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from channels.models import ConsentStatus, MessageChannel
from channels.selectors import channel_consents_for_customer
from channels.services import channel_consent_set
from crm.common.errors import ApplicationError
from crm.common.services import model_update
from crm.models import Tenant
from crm.tenancy.rls import tenant_context
from customers.models import Consent, Customer
from customers.services import customer_set_consent
from reminders.models import (
    Language,
    Reminder,
    ReminderRule,
    ReminderStatus,
    ReminderStep,
    ReminderTemplate,
    RuleKind,
    new_holdout_salt,
)

RULE_FIELDS = [
    "name",
    "kind",
    "template",
    "is_active",
    "season_months",
    "season_day",
    "audience_segment",
    "audience_tag",
    "holdout_percent",
    "attribution_days",
]
TEMPLATE_FIELDS = ["name", "language", "subject", "body"]
UNSUBSCRIBE_SALT = "reminders.unsubscribe"

# Default day offsets per kind (negative = before the occasion).
DEFAULT_OFFSETS = {
    RuleKind.INSPECTION: [-90, -60, -30, 7],
    RuleKind.CHECK_12M: [-30],
    RuleKind.CHECK_6M: [-30],
    RuleKind.BIRTHDAY: [0],
    RuleKind.FOLLOW_UP_SERVICE: [3],
    RuleKind.FOLLOW_UP_PURCHASE: [7],
    RuleKind.NURTURE: [14, 60, 180],
    RuleKind.SEASONAL: [-14],
}


# --- templates ----------------------------------------------------------------------------------
@transaction.atomic
def reminder_template_create(*, tenant: Tenant, **fields: Any) -> ReminderTemplate:
    """Create a template; invalid Jinja (or a field off the whitelist) is rejected with line and reason."""
    template = ReminderTemplate(tenant=tenant, **fields)
    template.full_clean()
    template.save()
    return template


@transaction.atomic
def reminder_template_update(
    *, tenant: Tenant, template: ReminderTemplate, data: dict[str, Any]
) -> ReminderTemplate:
    if template.tenant_id != tenant.pk:
        raise ApplicationError(_("Template not found."))
    template, _changed = model_update(instance=template, fields=TEMPLATE_FIELDS, data=data)
    return template


# --- rules --------------------------------------------------------------------------------------
def _set_steps(*, tenant: Tenant, rule: ReminderRule, offsets: list[int]) -> None:
    """Replace a rule's steps. Seasonal rules get one step per month (same offset for each)."""
    ReminderStep.objects.for_tenant(tenant).filter(rule=rule).delete()
    if rule.kind == RuleKind.SEASONAL:
        offset = offsets[0] if offsets else 0
        steps = [
            ReminderStep(tenant=tenant, rule=rule, step=i, offset_days=offset, month=m)
            for i, m in enumerate(rule.months, start=1)
        ]
    else:
        steps = [
            ReminderStep(tenant=tenant, rule=rule, step=i, offset_days=o)
            for i, o in enumerate(offsets, start=1)
        ]
    ReminderStep.objects.bulk_create(steps)


@transaction.atomic
def reminder_rule_create(*, tenant: Tenant, offsets: list[int] | None = None, **fields: Any) -> ReminderRule:
    """Create a rule with its steps (`offsets` in days from the occasion; default per kind)."""
    rule = ReminderRule(tenant=tenant, **fields)
    rule.full_clean()
    rule.save()
    _set_steps(
        tenant=tenant, rule=rule, offsets=offsets if offsets is not None else DEFAULT_OFFSETS[rule.kind]
    )
    return rule


@transaction.atomic
def reminder_rule_update(
    *, tenant: Tenant, rule: ReminderRule, data: dict[str, Any], offsets: list[int] | None = None
) -> ReminderRule:
    if rule.tenant_id != tenant.pk:
        raise ApplicationError(_("Rule not found."))
    rule, _changed = model_update(instance=rule, fields=RULE_FIELDS, data=data)
    if offsets is not None or rule.kind == RuleKind.SEASONAL:
        current = list(rule.steps.values_list("offset_days", flat=True))
        _set_steps(tenant=tenant, rule=rule, offsets=offsets if offsets is not None else current)
    return rule


@transaction.atomic
def reminder_rule_redraw_holdout(*, tenant: Tenant, rule: ReminderRule) -> ReminderRule:
    """Draw the rule's control group anew (a new salt for reminders.holdout). Only rows planned from now on
    follow the new draw; planned ones keep their status, so a comparison already running is not mixed up
    silently. An explicit action only: editing the rule never changes the salt."""
    if rule.tenant_id != tenant.pk:
        raise ApplicationError(_("Rule not found."))
    rule.holdout_salt = new_holdout_salt()
    rule.save(update_fields=["holdout_salt"])
    return rule


# --- defaults for a new tenant ------------------------------------------------------------------
_FOOTNOTE_JA = (
    "\n\nご不明な点は {{ shop_name }}（{{ shop_phone }}）までお気軽にお問い合わせください。"
    "\n担当：{{ staff_name|default(shop_name, true) }}"
)
_FOOTNOTE_EN = (
    "\n\nAny questions? Call {{ shop_name }} on {{ shop_phone }}."
    "\nYour contact: {{ staff_name|default(shop_name, true) }}"
)

DEFAULT_TEMPLATES = {
    RuleKind.INSPECTION: (
        (
            "車検のご案内（{{ plate_number }}）",
            "{{ customer_name }}\n\nいつも{{ shop_name }}をご利用いただきありがとうございます。\n"
            "{{ vehicle }}（{{ plate_number }}）の車検満了日は {{ inspection_expiry }} です。\n"
            "ご予約はこちらから24時間承ります：\n{{ booking_url }}\nお電話・ご来店でも承ります。"
            + _FOOTNOTE_JA,
        ),
        (
            "Your vehicle inspection (shaken) is due: {{ plate_number }}",
            "Dear {{ customer_name }},\n\nThe inspection of your {{ vehicle }} ({{ plate_number }}) "
            "expires on "
            "{{ inspection_expiry }}. Book your inspection online at any time:\n{{ booking_url }}\n"
            "or by phone or at the shop." + _FOOTNOTE_EN,
        ),
    ),
    RuleKind.CHECK_12M: (
        (
            "法定12ヶ月点検のご案内",
            "{{ customer_name }}\n\n{{ vehicle }}（{{ plate_number }}）の法定12ヶ月点検の時期"
            "（{{ due_date }}頃）が近づいています。\nご予約はこちらから：\n{{ booking_url }}" + _FOOTNOTE_JA,
        ),
        (
            "Your 12-month check is coming up",
            "Dear {{ customer_name }},\n\nYour {{ vehicle }} "
            "({{ plate_number }}) is due for its 12-month legal check around {{ due_date }}.\n"
            "Book online: {{ booking_url }}" + _FOOTNOTE_EN,
        ),
    ),
    RuleKind.CHECK_6M: (
        (
            "6ヶ月点検のご案内",
            "{{ customer_name }}\n\n{{ vehicle }}（{{ plate_number }}）の6ヶ月点検の時期が"
            "近づいています。\nご予約はこちらから：\n{{ booking_url }}" + _FOOTNOTE_JA,
        ),
        (
            "Your 6-month check is coming up",
            "Dear {{ customer_name }},\n\nYour {{ vehicle }} "
            "({{ plate_number }}) is due for its 6-month check.\nBook online: {{ booking_url }}"
            + _FOOTNOTE_EN,
        ),
    ),
    RuleKind.BIRTHDAY: (
        (
            "お誕生日おめでとうございます",
            "{{ customer_name }}\n\nお誕生日おめでとうございます。\n"
            "{{ shop_name }}スタッフ一同、素敵な一年をお祈りしております。" + _FOOTNOTE_JA,
        ),
        (
            "Happy birthday!",
            "Dear {{ customer_name }},\n\nHappy birthday from all of us at {{ shop_name }}!" + _FOOTNOTE_EN,
        ),
    ),
    RuleKind.FOLLOW_UP_SERVICE: (
        (
            "整備後のお車の調子はいかがですか",
            "{{ customer_name }}\n\n先日は{{ shop_name }}にて整備を"
            "ご利用いただきありがとうございました。\n{{ vehicle }}のその後の調子はいかがでしょうか。"
            + _FOOTNOTE_JA,
        ),
        (
            "How is your car after the service?",
            "Dear {{ customer_name }},\n\nThank you for your recent "
            "service visit. How is your {{ vehicle }} running?" + _FOOTNOTE_EN,
        ),
    ),
    RuleKind.FOLLOW_UP_PURCHASE: (
        (
            "ご購入ありがとうございました",
            "{{ customer_name }}\n\nこの度は{{ shop_name }}でのご購入、誠に"
            "ありがとうございました。\nその後ご不便な点はございませんか。" + _FOOTNOTE_JA,
        ),
        (
            "Thank you for your purchase",
            "Dear {{ customer_name }},\n\nThank you for buying from "
            "{{ shop_name }}. Is everything as it should be?" + _FOOTNOTE_EN,
        ),
    ),
    RuleKind.NURTURE: (
        (
            "{{ shop_name }}からのお知らせ",
            "{{ customer_name }}\n\n{{ shop_name }}をお選びいただき"
            "ありがとうございます。\nオイル交換や点検など、お車のことは何でもご相談ください。" + _FOOTNOTE_JA,
        ),
        (
            "News from {{ shop_name }}",
            "Dear {{ customer_name }},\n\nThank you for choosing {{ shop_name }}. "
            "We look after oil changes, checks and anything else your car needs." + _FOOTNOTE_EN,
        ),
    ),
    RuleKind.SEASONAL: (
        (
            "タイヤ交換の季節です",
            "{{ customer_name }}\n\nタイヤ交換の季節になりました。\n"
            "{{ shop_name }}ではご予約を承っております：\n{{ booking_url }}" + _FOOTNOTE_JA,
        ),
        (
            "Time to change your tyres",
            "Dear {{ customer_name }},\n\nIt is tyre-change season. "
            "Book your slot at {{ shop_name }}: {{ booking_url }}" + _FOOTNOTE_EN,
        ),
    ),
}

DEFAULT_RULES = [
    # (kind, name, active by default)
    (RuleKind.INSPECTION, "車検のご案内", True),
    (RuleKind.CHECK_12M, "法定12ヶ月点検のご案内", True),
    (RuleKind.CHECK_6M, "6ヶ月点検のご案内", True),
    (RuleKind.BIRTHDAY, "お誕生日メール", True),
    (RuleKind.FOLLOW_UP_SERVICE, "整備後フォロー", True),
    (RuleKind.FOLLOW_UP_PURCHASE, "購入後フォロー", True),
    (RuleKind.NURTURE, "初回購入後ナーチャリング", True),
    (RuleKind.SEASONAL, "タイヤ交換シーズン", False),
]


@transaction.atomic
def reminder_defaults_create(*, tenant: Tenant) -> list[ReminderRule]:
    """Give a tenant the default rules and Japanese + English templates. Safe to call twice."""
    if ReminderRule.objects.for_tenant(tenant).exists():
        return list(ReminderRule.objects.for_tenant(tenant))
    rules = []
    for kind, name, active in DEFAULT_RULES:
        (ja_subject, ja_body), (en_subject, en_body) = DEFAULT_TEMPLATES[kind]
        ja = reminder_template_create(
            tenant=tenant, name=name, language=Language.JA, subject=ja_subject, body=ja_body
        )
        reminder_template_create(
            tenant=tenant, name=name, language=Language.EN, subject=en_subject, body=en_body
        )
        extra = {"season_months": "3,11"} if kind == RuleKind.SEASONAL else {}
        rules.append(
            reminder_rule_create(tenant=tenant, name=name, kind=kind, template=ja, is_active=active, **extra)
        )
    return rules


# --- the outbox ----------------------------------------------------------------------------------
CANCELLABLE = (ReminderStatus.PENDING, ReminderStatus.QUEUED)


class ReminderNotCancellable(ApplicationError):
    """The reminder is already being sent, sent, failed or cancelled."""


@transaction.atomic
def reminder_cancel(*, tenant: Tenant, reminder: Reminder) -> Reminder:
    """Cancel a planned or queued reminder (it becomes `skipped`); a guarded move, safe against the sender.

    The sender claims only `queued` rows, so a cancelled row is never sent even if its task runs.
    """
    moved = (
        Reminder.objects.for_tenant(tenant)
        .filter(pk=reminder.pk, status__in=CANCELLABLE)
        .update(status=ReminderStatus.SKIPPED, reason="cancelled", updated_at=timezone.now())
    )
    if not moved:
        raise ReminderNotCancellable(_("Only planned or queued reminders can be cancelled."))
    return Reminder.objects.for_tenant(tenant).get(pk=reminder.pk)


@transaction.atomic
def reminder_mark_clicked(*, tenant: Tenant | int, reminder_id: int) -> bool:
    """Record the first click on one of a reminder's signed links (the booking page opened through
    it). Later clicks change nothing: one guarded UPDATE, so two clicks at once record one time.
    Returns whether this was the first click."""
    now = timezone.now()
    return bool(
        Reminder.objects.for_tenant(tenant)
        .filter(pk=reminder_id, clicked_at__isnull=True)
        .update(clicked_at=now, updated_at=now)
    )


# --- unsubscribe --------------------------------------------------------------------------------
def unsubscribe_token(*, tenant_id: int, customer_id: int) -> str:
    return signing.dumps([tenant_id, customer_id], salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_token_read(token: str) -> tuple[int, int]:
    """(tenant id, customer id) of a valid token; raises signing.BadSignature when tampered with."""
    value = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value)):
        raise signing.BadSignature("malformed unsubscribe token")
    return value[0], value[1]


@transaction.atomic
def customer_unsubscribe(*, token: str) -> Customer:
    """Record the opt-out (e-mail, and SMS if opted in) of the customer named by a signed unsubscribe
    token (no login needed)."""
    tenant_id, customer_id = unsubscribe_token_read(token)
    # No session on this public page: the signed token names the tenant (row-level security).
    with tenant_context(tenant_id):
        tenant = Tenant.objects.get(pk=tenant_id)
        customer = Customer.objects.for_tenant(tenant).get(pk=customer_id)
        # The same link is in SMS (short link /s/…): a refusal stops SMS at once too (特定電子メール法).
        sms = channel_consents_for_customer(tenant_id=tenant_id, customer_id=customer_id).get(
            MessageChannel.SMS
        )
        if sms is not None and sms.status == ConsentStatus.OPTED_IN:
            channel_consent_set(
                tenant=tenant,
                customer=customer,
                channel=MessageChannel.SMS,
                status=ConsentStatus.OPTED_OUT,
                source="unsubscribe link",
            )
        if customer.consent == Consent.OPTED_OUT:
            return customer
        return customer_set_consent(
            tenant=tenant, customer=customer, consent=Consent.OPTED_OUT, source="unsubscribe link"
        )
