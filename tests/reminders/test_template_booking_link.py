"""The template editor offers every field to insert, and says so when a bookable occasion's template
(車検, checks, tyre season) has no booking link; "Add the booking link" works without JavaScript."""

from __future__ import annotations

import pytest
from django.urls import reverse

from reminders.models import Language, ReminderTemplate
from reminders.services import reminder_defaults_create

pytestmark = pytest.mark.django_db

OLD_BODY = "{{ customer_name }}\n\n車検満了日は {{ inspection_expiry }} です。お電話ください。"


@pytest.fixture
def inspection_template(tenant):
    reminder_defaults_create(tenant=tenant)
    template = ReminderTemplate.objects.for_tenant(tenant).get(name="車検のご案内", language=Language.JA)
    ReminderTemplate.objects.for_tenant(tenant).filter(pk=template.pk).update(body=OLD_BODY)
    return template


def edit_url(template):
    return reverse("reminders:template_edit", args=[template.pk])


def test_a_bookable_occasions_template_without_the_link_gets_a_hint(owner_client, inspection_template):
    html = owner_client.get(edit_url(inspection_template)).content.decode()
    assert 'id="booking-link-hint"' in html
    assert "車検のご案内" in html  # the rule that sends it
    assert 'name="add_booking_link"' in html
    fields = html.split('id="template-fields"', 1)[1]
    assert fields.index('data-insert-field="{{ booking_url }}"') < fields.index(
        'data-insert-field="{{ customer_name }}"'
    )  # the booking link first of all the fields


def test_no_hint_with_the_link_or_for_occasions_that_book_nothing(owner_client, tenant):
    reminder_defaults_create(tenant=tenant)
    with_link = ReminderTemplate.objects.for_tenant(tenant).get(name="車検のご案内", language=Language.EN)
    birthday = ReminderTemplate.objects.for_tenant(tenant).get(name="お誕生日メール", language=Language.JA)
    for template in (with_link, birthday):
        html = owner_client.get(edit_url(template)).content.decode()
        assert 'id="booking-link-hint"' not in html
        assert 'data-insert-field="{{ booking_url }}"' in html  # still offered


def test_add_the_booking_link_without_javascript_then_save(owner_client, tenant, inspection_template):
    form = {"name": "車検のご案内", "language": "ja", "subject": "車検のご案内", "body": OLD_BODY}

    response = owner_client.post(edit_url(inspection_template), {**form, "add_booking_link": "1"})

    assert response.status_code == 200
    html = response.content.decode()
    expected = OLD_BODY + "\n\nご予約はこちらから：\n{{ booking_url }}"
    assert response.context["form"]["body"].value() == expected
    assert 'id="booking-link-hint"' not in html
    inspection_template.refresh_from_db()
    assert inspection_template.body == OLD_BODY  # not saved until the shop saves it

    saved = owner_client.post(edit_url(inspection_template), {**form, "body": expected})
    assert saved.status_code == 302
    inspection_template.refresh_from_db()
    assert inspection_template.body == expected


def test_the_english_template_gets_the_english_line(owner_client, tenant):
    reminder_defaults_create(tenant=tenant)
    templates = ReminderTemplate.objects.for_tenant(tenant)
    template = templates.get(name="法定12ヶ月点検のご案内", language=Language.EN)
    body = "Dear {{ customer_name }}"
    form = {"name": template.name, "language": "en", "subject": template.subject, "body": body}
    response = owner_client.post(edit_url(template), {**form, "add_booking_link": "1"})
    assert response.context["form"]["body"].value() == body + "\n\nBook online: {{ booking_url }}"


def test_another_shop_cannot_open_or_change_the_template(other_client, inspection_template):
    form = {"name": "x", "language": "ja", "subject": "x", "body": "x", "add_booking_link": "1"}
    assert other_client.get(edit_url(inspection_template)).status_code == 404
    assert other_client.post(edit_url(inspection_template), form).status_code == 404
    inspection_template.refresh_from_db()
    assert (inspection_template.name, inspection_template.body) == ("車検のご案内", OLD_BODY)
