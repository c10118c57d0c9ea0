"""Dashboard pages of reminders: queue, rules, templates (with preview), call tasks, outbox; unsubscribe."""

from django.contrib import messages
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from crm.models import Tenant
from crm.tenancy.permissions import tenant_view
from crm.tenancy.roles import EDIT_CUSTOMERS, EDIT_RULES
from customers.models import Consent, Customer
from customers.selectors import customer_get, customer_search
from interactions.selectors import call_task_get
from interactions.services import call_task_complete
from reminders import selectors, services
from reminders.forms import ReminderRuleForm, ReminderTemplateForm
from reminders.links import BOOKING_LINE, BOOKING_LINK_FIELD
from reminders.models import ReminderStatus
from reminders.sending import preview_email
from reminders.templating import ALLOWED_FIELDS, TemplateRejected

PAGE_SIZE = 50


@tenant_view()
def index(request):
    """The queue: planned, sent, failed and skipped reminders with their reasons."""
    status = request.GET.get("status", "")
    if status not in ReminderStatus.values:
        status = ""
    page = Paginator(selectors.reminder_queue(tenant=request.tenant, status=status), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    counts = selectors.reminder_status_counts(tenant=request.tenant)
    statuses = [(value, label, counts.get(value, 0)) for value, label in ReminderStatus.choices]
    return render(request, "reminders/index.html", {"page": page, "status": status, "statuses": statuses})


# --- rules ----------------------------------------------------------------------------------------
@tenant_view(write=EDIT_RULES)
def rule_list(request):
    return render(request, "reminders/rule_list.html", {"rules": selectors.rule_list(tenant=request.tenant)})


@tenant_view(write=EDIT_RULES)
def rule_edit(request, pk: int | None = None):
    rule = selectors.rule_get(tenant=request.tenant, pk=pk) if pk else None
    # The form validates its own copy: a ModelForm writes into its instance, and the service must see the
    # stored values to tell what changed.
    form_instance = selectors.rule_get(tenant=request.tenant, pk=pk) if pk else None
    form = ReminderRuleForm(request.POST or None, instance=form_instance, tenant=request.tenant)
    if request.method == "POST" and form.is_valid():
        try:
            if rule is None:
                services.reminder_rule_create(
                    tenant=request.tenant, offsets=form.cleaned_data["offsets"], **form.data_for_service()
                )
            else:
                services.reminder_rule_update(
                    tenant=request.tenant,
                    rule=rule,
                    data=form.data_for_service(),
                    offsets=form.cleaned_data["offsets"],
                )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Rule saved."))
            return redirect("reminders:rules")
    return render(request, "reminders/rule_form.html", {"form": form, "rule": rule})


@require_POST
@tenant_view(write=EDIT_RULES)
def rule_redraw_holdout(request, pk: int):
    rule = selectors.rule_get(tenant=request.tenant, pk=pk)
    services.reminder_rule_redraw_holdout(tenant=request.tenant, rule=rule)
    messages.success(request, _("The control group is drawn anew for reminders planned from now on."))
    return redirect("reminders:rule_edit", pk=rule.pk)


# --- templates ------------------------------------------------------------------------------------
@tenant_view(write=EDIT_RULES)
def template_list(request):
    return render(
        request, "reminders/template_list.html", {"templates": selectors.template_list(tenant=request.tenant)}
    )


def _template_fields() -> list[tuple[str, str]]:
    """The fields the editor offers to insert ("{{ name }}", sample value), the booking link first."""
    names = sorted(ALLOWED_FIELDS, key=lambda name: name != "booking_url")
    return [(f"{{{{ {name} }}}}", ALLOWED_FIELDS[name]) for name in names]


@tenant_view(write=EDIT_RULES)
def template_edit(request, pk: int | None = None):
    """Edit a template: invalid ones are refused with line and reason; a preview renders for one customer.

    The editor offers every field to insert at the cursor (static/js/kizuna.js), and says so when the
    template of a bookable occasion (車検, checks, tyre season) has no booking link; without
    JavaScript, "Add the booking link" puts the booking line at the end of the body (not saved yet)."""
    template = selectors.template_get(tenant=request.tenant, pk=pk) if pk else None
    form_instance = selectors.template_get(tenant=request.tenant, pk=pk) if pk else None  # see rule_edit
    data = request.POST or None
    if data is not None and "add_booking_link" in data:
        data = data.copy()
        language = data.get("language") if data.get("language") in BOOKING_LINE else "ja"
        data["body"] = data.get("body", "").rstrip() + "\n\n" + BOOKING_LINE[language]
    form = ReminderTemplateForm(data, instance=form_instance, tenant=request.tenant)
    preview = preview_error = None
    customer = None
    customer_id = request.GET.get("customer") or request.POST.get("customer")
    if customer_id and str(customer_id).isdigit():
        customer = customer_get(tenant=request.tenant, pk=int(customer_id))
    saving = request.method == "POST" and not {"preview", "add_booking_link"} & set(request.POST)
    if saving and form.is_valid():
        data = {f: form.cleaned_data[f] for f in ReminderTemplateForm.Meta.fields}
        try:
            if template is None:
                template = services.reminder_template_create(tenant=request.tenant, **data)
            else:
                services.reminder_template_update(tenant=request.tenant, template=template, data=data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Template saved."))
            return redirect("reminders:template_edit", pk=template.pk)
    if request.method == "POST" and "add_booking_link" in request.POST:
        messages.info(request, _("The booking link was added at the end of the text. Save to keep it."))
    if customer is not None:
        source = (
            form.data
            if form.is_bound
            else {"subject": template.subject, "body": template.body, "language": template.language}
            if template
            else None
        )
        if source:
            try:
                preview = preview_email(
                    tenant=request.tenant,
                    customer=customer,
                    subject=source.get("subject", ""),
                    body=source.get("body", ""),
                    language=source.get("language", "ja"),
                )
            except TemplateRejected as exc:
                preview_error = str(exc)
    body = form.data.get("body", "") if form.is_bound else (template.body if template else "")
    booking_rules = []
    if template is not None and "booking_url" not in body:
        booking_rules = selectors.template_booking_rules(tenant=request.tenant, template=template)
    q = request.GET.get("q", "")
    matches = customer_search(tenant=request.tenant, q=q).order_by("pk")[:10] if q else []
    return render(
        request,
        "reminders/template_form.html",
        {
            "form": form,
            "template": template,
            "preview": preview,
            "preview_error": preview_error,
            "customer": customer,
            "q": q,
            "matches": matches,
            "fields": _template_fields(),
            "booking_field": BOOKING_LINK_FIELD,
            "booking_rules_without_link": booking_rules,
        },
    )


# --- call tasks -----------------------------------------------------------------------------------
@tenant_view(write=EDIT_CUSTOMERS)
def call_tasks(request):
    if request.method == "POST":
        task = call_task_get(tenant=request.tenant, pk=int(request.POST.get("task", 0) or 0))
        call_task_complete(
            tenant=request.tenant, task=task, by=request.user, summary=request.POST.get("summary", "")
        )
        messages.success(request, _("Call task marked done."))
        return redirect("reminders:call_tasks")
    page = Paginator(selectors.reminder_call_tasks(tenant=request.tenant), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "reminders/call_tasks.html", {"page": page})


# --- outbox of the embedded setup -----------------------------------------------------------------
@tenant_view()
def outbox(request):
    items = selectors.outbox_messages(tenant=request.tenant)
    chosen = None
    name = request.GET.get("m")
    if name:
        chosen = selectors.outbox_message_get(tenant=request.tenant, name=name)
    return render(request, "reminders/outbox.html", {"items": items, "chosen": chosen})


# --- public: unsubscribe --------------------------------------------------------------------------
# RFC 8058 one-click: mail clients POST with no session or CSRF token; the signed token is the proof.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    """The page of the link in every reminder, in the customer's e-mail language."""
    try:
        customer = selectors.unsubscribe_customer(token=token)
    except signing.BadSignature as exc:
        raise Http404 from exc
    if customer is None:  # deleted since the mail went out
        raise Http404
    with translation.override(customer.language):
        if request.method == "POST":
            try:
                customer = services.customer_unsubscribe(token=token)
            except (Tenant.DoesNotExist, Customer.DoesNotExist) as exc:
                raise Http404 from exc
            return render(
                request,
                "reminders/unsubscribe.html",
                {"done": True, "customer": customer, "opted_out": customer.consent == Consent.OPTED_OUT},
            )
        return render(request, "reminders/unsubscribe.html", {"done": False, "token": token})
