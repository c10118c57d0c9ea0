"""reminders 0009: shops whose 車検 / 12-month check templates are still the old default text get the
current default (with `{{ booking_url }}`); a template the shop has reworded keeps its wording."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection

from reminders.models import Language, ReminderTemplate, RuleKind
from reminders.services import DEFAULT_TEMPLATES, reminder_defaults_create

pytestmark = pytest.mark.django_db

migration = importlib.import_module("reminders.migrations.0009_default_templates_booking_link")

# The texts as shipped before online booking (copied here by hand from that release).
OLD_INSPECTION_JA = (
    "{{ customer_name }}\n\nいつも{{ shop_name }}をご利用いただきありがとうございます。\n"
    "{{ vehicle }}（{{ plate_number }}）の車検満了日は {{ inspection_expiry }} です。\n"
    "ご予約はお電話またはご来店にて承ります。"
    "\n\nご不明な点は {{ shop_name }}（{{ shop_phone }}）までお気軽にお問い合わせください。"
    "\n担当：{{ staff_name|default(shop_name, true) }}"
)
OLD_CHECK_12M_EN_BEFORE_STAFF_FALLBACK = (
    "Dear {{ customer_name }},\n\nYour {{ vehicle }} ({{ plate_number }}) is due for its 12-month legal "
    "check around {{ due_date }}.\n\nAny questions? Call {{ shop_name }} on {{ shop_phone }}."
    "\nYour contact: {{ staff_name }}"
)
OWN_WORDING = "{{ customer_name }}\n\n車検の時期です。お電話ください！（{{ shop_phone }}）"


def template(tenant, name, language):
    return ReminderTemplate.objects.for_tenant(tenant).get(name=name, language=language)


def set_body(tenant, name, language, body):
    ReminderTemplate.objects.for_tenant(tenant).filter(name=name, language=language).update(body=body)


def run(direction):
    getattr(migration, direction)(apps, SimpleNamespace(connection=connection))


def test_old_default_texts_get_the_booking_link_and_the_shops_own_wording_stays(tenant, other_tenant):
    for shop in (tenant, other_tenant):
        reminder_defaults_create(tenant=shop)
    set_body(tenant, "車検のご案内", Language.JA, OLD_INSPECTION_JA)
    set_body(tenant, "法定12ヶ月点検のご案内", Language.EN, OLD_CHECK_12M_EN_BEFORE_STAFF_FALLBACK)
    set_body(other_tenant, "車検のご案内", Language.JA, OWN_WORDING)
    untouched = {t.pk: (t.body, t.updated_at) for t in ReminderTemplate.objects.for_tenant(tenant)}

    run("add_booking_links")

    inspection_ja = template(tenant, "車検のご案内", Language.JA)
    assert inspection_ja.body == DEFAULT_TEMPLATES[RuleKind.INSPECTION][0][1]
    assert "ご予約はこちらから24時間承ります：\n{{ booking_url }}\n" in inspection_ja.body
    check_en = template(tenant, "法定12ヶ月点検のご案内", Language.EN)
    assert check_en.body == DEFAULT_TEMPLATES[RuleKind.CHECK_12M][1][1]
    assert "Book online: {{ booking_url }}" in check_en.body
    assert template(other_tenant, "車検のご案内", Language.JA).body == OWN_WORDING  # the shop's own text
    changed = {inspection_ja.pk, check_en.pk}
    for t in ReminderTemplate.objects.for_tenant(tenant).exclude(pk__in=changed):
        assert (t.body, t.updated_at) == untouched[t.pk]  # current defaults: nothing to do

    run("remove_booking_links")
    assert template(tenant, "車検のご案内", Language.JA).body == OLD_INSPECTION_JA
    assert template(other_tenant, "車検のご案内", Language.JA).body == OWN_WORDING


def test_a_body_that_differs_by_one_character_is_left_alone(tenant):
    reminder_defaults_create(tenant=tenant)
    almost = OLD_INSPECTION_JA.replace("承ります。", "承ります！")
    set_body(tenant, "車検のご案内", Language.JA, almost)

    run("add_booking_links")

    assert template(tenant, "車検のご案内", Language.JA).body == almost
