"""Hypothesis fuzzing of the e-mail template sandbox (reminders/templating.py).

Sources are built from Jinja's own pieces — fields and unknown names, attribute and item access,
every operator, allowed and forbidden filters, loops, macros, includes, comments, unbalanced tags —
plus raw noise. Whatever the source: `validate_template` accepts it or says why (with the line when
a line is to blame) and never raises; an accepted template renders to bounded output that shows no
Python object, whatever the field values; and saving through the service gives a model or a
ValidationError on subject/body, nothing else.
"""

from __future__ import annotations

import re

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reminders.models import ReminderTemplate
from reminders.services import reminder_template_create
from reminders.templating import ALLOWED_FIELDS, MAX_OUTPUT_CHARS, render, validate_template

FIELDS = sorted(ALLOWED_FIELDS)
NAMES = [*FIELDS, "settings", "tenant", "request", "self", "loop", "lipsum", "cycler", "joiner", "namespace",
         "dict", "config", "os", "x", "range", "__builtins__"]  # fmt: skip
FILTERS = ["default", "upper", "lower", "trim", "title", "capitalize", "truncate(3)", "length",
           "attr('x')", "format", "map('upper')", "join", "safe", "pprint", "list", "tojson", "indent(9999)",
           "center(99999)", "wordwrap(1)", "replace('a','b')", "int", "sum"]  # fmt: skip
OPERATORS = ["+", "-", "*", "/", "//", "%", "**", "~", "==", "<", "and", "or", "in"]
# Signs of a Python object reaching the output (none can be produced from plain string fields).
LEAKS = re.compile(
    r"<(class|function|module|built-in|bound method|generator|jinja2)|object at 0x|__globals__"
)

literals = st.one_of(
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
    st.sampled_from(
        [
            "0",
            "1",
            "50",
            "51",
            "10**9",
            "9e999",
            "'x'",
            "''",
            '"y"',
            "[]",
            "[1,2]",
            "{}",
            "()",
            "None",
            "true",
            "'a' * 20001",
        ]
    ),
)


def expressions() -> st.SearchStrategy[str]:
    base = st.one_of(st.sampled_from(NAMES), literals)
    return st.recursive(
        base,
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from(OPERATORS), inner).map(" ".join),
            st.tuples(inner, st.sampled_from(FILTERS)).map(lambda t: f"{t[0]}|{t[1]}"),
            st.tuples(inner, st.sampled_from(["__class__", "upper", "mro", "x"])).map(
                lambda t: f"{t[0]}.{t[1]}"
            ),
            st.tuples(inner, inner).map(lambda t: f"{t[0]}[{t[1]}]"),
            inner.map(lambda e: f"range({e})"),
            inner.map(lambda e: f"({e})"),
            st.tuples(inner, inner, inner).map(lambda t: f"{t[0]} if {t[1]} else {t[2]}"),
            inner.map(lambda e: f"not {e}"),
        ),
        max_leaves=6,
    )


EXPR = expressions()


def blocks() -> st.SearchStrategy[str]:
    expr = EXPR
    text = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)
    leaf = st.one_of(
        text,
        expr.map(lambda e: "{{ " + e + " }}"),
        st.sampled_from(
            [
                "{% include 'base.html' %}",
                "{% import 'x' as y %}",
                "{% extends 'base.html' %}",
                "{# note #}",
                "{% raw %}{{ x }}{% endraw %}",
                "{{",
                "}}",
                "{%",
                "%}",
                "{% endfor %}",
                "{% endif %}",
                "{% macro m() %}{{ m() }}{% endmacro %}",
                "{% call m() %}{% endcall %}",
                "{% block b %}{% endblock %}",
                "{% filter upper %}x{% endfilter %}",
                "\n",
                "{{ customer_name }}",
                "{% do x %}",
            ]
        ),
        expr.map(lambda e: "{% set v = " + e + " %}"),
    )
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.lists(inner, min_size=1, max_size=4).map("".join),
            st.tuples(st.sampled_from(["i", "loop", "customer_name"]), expr, inner).map(
                lambda t: "{% for " + t[0] + " in " + t[1] + " %}" + t[2] + "{% endfor %}"
            ),
            st.tuples(expr, inner, inner).map(
                lambda t: "{% if " + t[0] + " %}" + t[1] + "{% else %}" + t[2] + "{% endif %}"
            ),
            st.tuples(expr, inner).map(lambda t: "{% with w = " + t[0] + " %}" + t[1] + "{% endwith %}"),
        ),
        max_leaves=8,
    )


BLOCKS = blocks()
sources = st.one_of(
    BLOCKS,
    st.text(alphabet="{}%#()[]|.~*'\"\n abc0123_", max_size=60),  # raw noise around the delimiters
    st.text(max_size=60),
)
field_values = st.fixed_dictionaries(
    {
        name: st.one_of(st.text(max_size=30), st.sampled_from(["{{ 7*7 }}", "{% for %}", "\x00", "様" * 500]))
        for name in FIELDS
    }
)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Reasons about the template as a whole, where no single line is to blame.
WHOLE_TEMPLATE = ("The template is too long", "The template output is too long")


def assert_no_leak(output: str, source: str) -> None:
    match = LEAKS.search(output)
    assert match is None or match.group(0) in source, f"object leaked into the output: {output[:300]!r}"
    assert django_settings.SECRET_KEY not in output


@FUZZ
@given(source=sources, values=field_values)
def test_any_source_is_accepted_or_refused_with_a_reason(source, values):
    with translation.override("en"):
        problem = validate_template(source)
        if problem is None:
            output = render(source, ALLOWED_FIELDS)
            assert isinstance(output, str) and len(output) <= MAX_OUTPUT_CHARS
            assert_no_leak(output, source)
            # Field values are data, never template code, whatever they contain.
            hostile = render(source, values)
            assert isinstance(hostile, str) and len(hostile) <= MAX_OUTPUT_CHARS
            assert_no_leak(hostile, source + "".join(values.values()))
            return
    assert isinstance(problem, str) and problem.strip()
    line = re.match(r"Line (\d+): (.+)", problem, re.S)
    if line is None:
        assert problem.startswith(WHOLE_TEMPLATE) or "range() is limited" in problem, (
            f"refused without a line: {problem!r} for {source!r}"
        )
    else:
        assert 1 <= int(line.group(1)) <= source.count("\n") + 1
        assert line.group(2).strip()


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(subject=sources, body=sources)
def test_saving_any_template_gives_a_template_or_field_errors(tenant, subject, body):
    with transaction.atomic():
        before = ReminderTemplate.objects.for_tenant(tenant).count()
        try:
            template = reminder_template_create(
                tenant=tenant, name="fuzz", language="ja", subject=subject, body=body
            )
        except ValidationError as exc:
            assert set(exc.message_dict) <= {"subject", "body", "name", "language"}
            assert ReminderTemplate.objects.for_tenant(tenant).count() == before
        else:
            assert template.pk is not None
            assert validate_template(subject) is None and validate_template(body) is None
        transaction.set_rollback(True)


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["subject", "body"])
def test_a_nul_character_is_a_field_error_not_a_database_error(tenant, field):
    values = {"subject": "車検のご案内", "body": "{{ customer_name }} 様"} | {field: "a\x00b"}
    with pytest.raises(ValidationError) as exc:
        reminder_template_create(tenant=tenant, name="nul", language="ja", **values)
    assert list(exc.value.message_dict) == [field]
    assert not ReminderTemplate.objects.for_tenant(tenant).filter(name="nul").exists()
