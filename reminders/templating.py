"""User-written e-mail templates, rendered in a locked-down Jinja2 sandbox.

A template sees only a flat dict of strings (the whitelisted fields below): no model, no settings,
no attribute access at all, so it cannot reach Python internals or another tenant's data. Loops
are bounded (a tiny `range`, limited nesting) and the output is capped, so it cannot run forever
or fill memory. Checks happen at save time (with line and reason) and again at render time.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from django.utils.translation import gettext as _
from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.meta import find_undeclared_variables
from jinja2.sandbox import SandboxedEnvironment

# The only fields a template may use, with a sample for validation and the editor's help text.
ALLOWED_FIELDS = {
    "customer_name": "山田 太郎 様",
    "customer_family_name": "山田",
    "vehicle": "トヨタ プリウス",
    "plate_number": "品川 300 さ 12-34",
    "inspection_expiry": "2026年12月1日",
    "due_date": "2026年11月1日",
    "shop_name": "絆モータース",
    "shop_phone": "03-1234-5678",
    "shop_address": "東京都渋谷区神宮前1-1-1",
    "staff_name": "佐藤",
    # The reminder's own booking link (every reminder), and the booking a transactional message is about.
    "booking_url": "https://kizuna.example/b/r/…/",
    "booking_date": "2026年12月1日（火）",
    "booking_time": "10:00",
    "booking_work": "車検",
    "booking_manage_url": "https://kizuna.example/b/m/…/",
}
# Fields a transactional message may carry in Reminder.context (the rest are computed at send time).
BOOKING_CONTEXT_FIELDS = ("booking_date", "booking_time", "booking_work", "booking_manage_url")
ALLOWED_FILTERS = {"default", "upper", "lower", "trim", "title", "capitalize", "truncate", "length"}
MAX_RANGE = 50
MAX_LOOP_DEPTH = 2
MAX_OUTPUT_CHARS = 20_000
MAX_SOURCE_CHARS = 10_000


class TemplateRejected(ValueError):
    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line

    def __str__(self):
        text = self.args[0]
        return _("Line %(line)s: %(reason)s") % {"line": self.line, "reason": text} if self.line else text


def _safe_range(*args):
    rng = range(*args)
    if len(rng) > MAX_RANGE:
        raise SecurityError(_("range() is limited to %(n)s items.") % {"n": MAX_RANGE})
    return rng


class ReminderSandbox(SandboxedEnvironment):
    intercepted_binops = frozenset(["*", "**", "+"])

    def is_safe_attribute(self, obj, attr, value):
        return False  # fields are plain strings in a dict: no attribute or method is ever needed

    def is_safe_callable(self, obj):
        return obj is _safe_range

    def call_binop(self, context, operator, left, right):
        if operator == "**":
            raise SecurityError(_("The ** operator is not allowed."))
        result = super().call_binop(context, operator, left, right)
        if isinstance(result, str | list) and len(result) > MAX_OUTPUT_CHARS:
            raise SecurityError(_("The template output is too long."))
        if isinstance(result, int) and abs(result) > 10**9:
            raise SecurityError(_("Number too large."))
        return result


def _environment() -> ReminderSandbox:
    env = ReminderSandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
    env.filters = {name: f for name, f in env.filters.items() if name in ALLOWED_FILTERS}
    env.globals = {"range": _safe_range}
    env.tests = {name: t for name, t in env.tests.items() if name in {"defined", "undefined", "none"}}
    return env


ENV = _environment()


def _check_ast(source: str) -> None:
    if len(source) > MAX_SOURCE_CHARS:
        raise TemplateRejected(_("The template is too long."))
    try:
        ast = ENV.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateRejected(exc.message or _("Syntax error."), exc.lineno) from exc
    for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
        raise TemplateRejected(_("Only plain fields may be used (no '.' or '[...]')."), node.lineno)
    for node in ast.find_all(
        (
            nodes.Macro,
            nodes.CallBlock,
            nodes.Import,
            nodes.FromImport,
            nodes.Include,
            nodes.Extends,
            nodes.Block,
        )
    ):
        raise TemplateRejected(_("This tag is not allowed in e-mail templates."), node.lineno)
    for node in ast.find_all(nodes.Filter):
        if node.name not in ALLOWED_FILTERS:
            raise TemplateRejected(_("Unknown filter “%(name)s”.") % {"name": node.name}, node.lineno)
    for loop in ast.find_all(nodes.For):
        depth = 1 + sum(1 for _inner in loop.find_all(nodes.For))
        if depth > MAX_LOOP_DEPTH:
            raise TemplateRejected(
                _("Loops may be nested at most %(n)s deep.") % {"n": MAX_LOOP_DEPTH}, loop.lineno
            )
    try:
        undeclared = find_undeclared_variables(ast)  # runs Jinja's code generator: it has its own checks
    except TemplateError as exc:
        raise TemplateRejected(
            getattr(exc, "message", None) or str(exc), getattr(exc, "lineno", None)
        ) from exc
    unknown = undeclared - set(ALLOWED_FIELDS) - {"range"}
    if unknown:
        name = sorted(unknown)[0]
        line = next((n.lineno for n in ast.find_all(nodes.Name) if n.name == name), None)
        raise TemplateRejected(
            _("Unknown field “%(name)s”. Allowed: %(allowed)s")
            % {"name": name, "allowed": ", ".join(ALLOWED_FIELDS)},
            line,
        )


def validate_template(source: str) -> str | None:
    """Return why `source` is not an acceptable template ("Line 3: …"), or None when it is."""
    try:
        render(source, ALLOWED_FIELDS)
    except TemplateRejected as exc:
        return str(exc)
    return None


@lru_cache(maxsize=512)
def _compiled(source: str):
    """Checked and compiled once per worker process: the same few templates render thousands of times."""
    _check_ast(source)
    try:
        return ENV.from_string(source)
    except TemplateError as exc:
        message = getattr(exc, "message", None) or _("Syntax error.")
        raise TemplateRejected(message, getattr(exc, "lineno", None)) from exc


def render(source: str, context: dict[str, str]) -> str:
    """Render a template with whitelisted string fields only. Raises TemplateRejected."""
    template = _compiled(source)
    safe_context = {k: str(v) for k, v in context.items() if k in ALLOWED_FIELDS}
    try:
        out = []
        size = 0
        for chunk in template.generate(**safe_context):
            size += len(chunk)
            if size > MAX_OUTPUT_CHARS:
                raise TemplateRejected(_("The template output is too long."))
            out.append(chunk)
    except SecurityError as exc:
        raise TemplateRejected(str(exc), _error_line(exc)) from exc
    except TemplateError as exc:
        raise TemplateRejected(str(exc), _error_line(exc)) from exc
    # Expressions on plain strings and numbers can still fail in Python itself (1/0, "a" * "b", a float
    # literal Jinja cannot compile back, deep recursion): a refused template, never a crash.
    except (TypeError, ValueError, NameError, ArithmeticError, RecursionError) as exc:
        raise TemplateRejected(
            _("The template cannot be rendered (%(reason)s).") % {"reason": exc}, _error_line(exc)
        ) from exc
    return "".join(out)


def _error_line(exc: BaseException) -> int | None:
    line = getattr(exc, "lineno", None)
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    body: str


def render_email(*, subject: str, body: str, context: dict[str, str]) -> RenderedEmail:
    # A subject is one header line: newlines and other control characters can never get through.
    rendered_subject = " ".join(render(subject, context).split())[:200]
    return RenderedEmail(subject=rendered_subject, body=render(body, context))
