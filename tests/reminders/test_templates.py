"""User-written templates run in a sandbox: whitelisted fields only, bounded work, errors with lines."""

import pytest
from django.core.exceptions import ValidationError

from reminders.models import ReminderTemplate
from reminders.services import reminder_template_create
from reminders.templating import render, validate_template

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("source", "line", "reason"),
    [
        ("こんにちは\n{{ customer_name.__class__ }}", 2, "Only plain fields may be used"),
        ("{{ customer_name['__class__'] }}", 1, "Only plain fields may be used"),
        ("\n\n{{ settings.SECRET_KEY }}", 3, "Only plain fields may be used"),
        ("{{ settings }}", 1, "Unknown field “settings”"),
        ("{{ tenant }}", 1, "Unknown field “tenant”"),
        ("{{ customers }}", 1, "Unknown field “customers”"),
        ("{{ range.__globals__ }}", 1, "Only plain fields may be used"),
        ("{{ lipsum() }}", 1, "Unknown field “lipsum”"),
        ("{{ customer_name|attr('__class__') }}", 1, "Unknown filter “attr”"),
        ("{% for i in range(10**9) %}x{% endfor %}", 1, "The ** operator is not allowed"),
        ("{% for i in range(100000) %}x{% endfor %}", 1, "range() is limited to 50 items"),
        (
            "{% for a in range(50) %}{% for b in range(50) %}{% for c in range(50) %}x"
            "{% endfor %}{% endfor %}{% endfor %}",
            1,
            "Loops may be nested at most 2 deep",
        ),
        ("{{ 'x' * 1000000 }}", 1, "The template output is too long"),
        ("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", 1, "This tag is not allowed"),
        ("{% include 'base.html' %}", 1, "This tag is not allowed"),
        ("Hello\n{% if customer_name %}\nno end", 2, "Unexpected end of template"),
    ],
)
def test_dangerous_or_broken_templates_are_refused_with_line_and_reason(source, line, reason):
    problem = validate_template(source)

    assert problem is not None
    assert problem.startswith(f"Line {line}: ")
    assert reason in problem


def test_whitelisted_fields_render():
    out = render(
        "{{ customer_name }}、{{ vehicle }}（{{ plate_number|default('—') }}）"
        "{% for i in range(2) %}!{% endfor %}",
        {"customer_name": "山田 太郎 様", "vehicle": "トヨタ プリウス", "plate_number": "", "secret": "x"},
    )
    assert out == "山田 太郎 様、トヨタ プリウス（）!!"


def test_saving_an_invalid_template_is_rejected_and_nothing_is_saved(tenant):
    with pytest.raises(ValidationError) as exc:
        reminder_template_create(
            tenant=tenant, name="bad", language="ja", subject="ok", body="line one\n{{ shop_name.__init__ }}"
        )

    assert exc.value.message_dict["body"] == ["Line 2: Only plain fields may be used (no '.' or '[...]')."]
    assert ReminderTemplate.objects.for_tenant(tenant).count() == 0
