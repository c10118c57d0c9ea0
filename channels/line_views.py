"""LINE inbound pages: the webhook and the link page (public), the inbox, QR codes, replies (staff)."""

from __future__ import annotations

import hashlib
import logging
import uuid

from django.contrib import messages
from django.core import signing
from django.core.cache import cache
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from channels import line_inbound, line_selectors
from channels.line_events import WebhookPayloadError, parse_webhook_body
from channels.line_forms import LineReplyForm, LinkContactForm, LinkPageForm
from channels.line_linking import (
    add_friend_url,
    link_token_read,
    prefilled_message_url,
    qr_svg,
)
from channels.line_signature import SIGNATURE_HEADER, line_signature_is_valid
from channels.selectors import channel_settings_get
from crm.common.errors import ApplicationError
from crm.models import Tenant
from crm.tenancy.permissions import tenant_view
from crm.tenancy.roles import Role
from customers.selectors import customer_get

log = logging.getLogger(__name__)

LINK_PAGE_MAX_TRIES = 5  # failed attempts per link token, then the customer asks at the counter
LINK_PAGE_TRIES_SECONDS = 3600


# --- public: the webhook ---------------------------------------------------------------------------
# LINE posts without a session or CSRF token; the X-Line-Signature over the raw body is the proof.
@csrf_exempt
@require_POST
def line_webhook(request, key: str):
    """One shop's webhook: verify the signature with THAT shop's secret, then apply each event once.

    Processed synchronously: an event is a few row writes (milliseconds), so LINE gets its 200 fast,
    and the 200 means "committed" — an unfollow stops reminders the moment LINE is answered. Pushes
    the events cause (the bot's link invitation) go to Celery after commit.
    """
    body = request.body  # the raw bytes, before anything parses them
    try:
        tenant_id = line_selectors.webhook_tenant_id(key=key)
    except signing.BadSignature:
        tenant_id = None
    if tenant_id is None:
        raise Http404
    secret = line_selectors.webhook_channel_secret(tenant_id=tenant_id)
    if not line_signature_is_valid(
        channel_secret=secret, body=body, signature=request.META.get(SIGNATURE_HEADER)
    ):
        log.warning("LINE webhook refused: bad or missing signature (tenant %s)", tenant_id)
        return HttpResponse(status=401)
    try:
        events = parse_webhook_body(body)
    except WebhookPayloadError:
        return HttpResponseBadRequest()
    outcomes = line_inbound.line_webhook_events_process(tenant_id=tenant_id, events=events)
    log.info("LINE webhook tenant %s: %s", tenant_id, outcomes)
    return HttpResponse(status=200)


# --- public: the link page (opened from the bot's message after following) ------------------------
def _tries_key(token: str) -> str:
    return "line-link-tries:" + hashlib.sha256(token.encode()).hexdigest()


@never_cache
@require_http_methods(["GET", "POST"])
def line_link_page(request, token: str):
    try:
        tenant_id, line_user_id = link_token_read(token)
    except signing.BadSignature as exc:
        raise Http404 from exc
    shop = Tenant.objects.filter(pk=tenant_id).first()
    if shop is None:
        raise Http404
    tries = cache.get(_tries_key(token), 0)
    form = LinkPageForm(request.POST or None)
    ctx = {"shop": shop, "form": form, "done": False, "locked": tries >= LINK_PAGE_MAX_TRIES}
    if request.method == "POST" and not ctx["locked"] and form.is_valid():
        data = form.cleaned_data
        try:
            if data["code"]:
                line_inbound.line_link_by_code(
                    tenant_id=tenant_id, line_user_id=line_user_id, code=data["code"]
                )
            else:
                line_inbound.line_link_by_phone_and_plate(
                    tenant_id=tenant_id, line_user_id=line_user_id, phone=data["phone"], plate=data["plate"]
                )
        except line_inbound.LinkRefused:
            cache.set(_tries_key(token), tries + 1, LINK_PAGE_TRIES_SECONDS)
            ctx["locked"] = tries + 1 >= LINK_PAGE_MAX_TRIES
            form.add_error(
                None, _("We could not find you with these details. Please check them, or ask at the counter.")
            )
        else:
            ctx["done"] = True
    status = 400 if request.method == "POST" and not ctx["done"] else 200
    return render(request, "channels/line_link_page.html", ctx, status=status)


# --- staff: Customer 360 panel --------------------------------------------------------------------
def line_panel_context(request, customer) -> dict:
    """What the LINE card of the Customer 360 shows (the 360 view adds this to its context)."""
    tenant = request.tenant
    channel_settings = channel_settings_get(tenant_id=tenant.pk)
    contact = line_selectors.customer_line_contact(tenant=tenant, customer_id=customer.pk)
    ctx = {
        "line_basic_id": channel_settings.line_basic_id,
        "line_contact": contact,
        "line_can_edit": request.membership.has_role(Role.STAFF),
        "line_unanswered": list(
            line_selectors.unanswered_line_messages(tenant=tenant).filter(customer=customer)[:5]
        ),
    }
    if contact is None:
        contacts = list(line_selectors.unlinked_line_contacts(tenant=tenant))
        ctx["line_link_form"] = LinkContactForm(contacts=contacts) if contacts else None
    else:
        ctx["line_reply_form"] = LineReplyForm(initial={"nonce": uuid.uuid4()})
    return ctx


def _panel(request, customer, *, status: int = 200, **extra):
    ctx = {"customer": customer, **line_panel_context(request, customer), **extra}
    return render(request, "channels/_line_panel.html", ctx, status=status)


def _back_to_360(customer):
    return redirect("customers:detail", pk=customer.pk)


@tenant_view(write=Role.STAFF)
@require_POST
def line_link_code(request, pk: int):
    """A fresh one-time code and its QR code for this customer (POST: it writes a code row)."""
    customer = customer_get(tenant=request.tenant, pk=pk)
    settings_row = channel_settings_get(tenant_id=request.tenant.pk)
    if not settings_row.line_basic_id:
        messages.error(request, _("Enter the shop's LINE basic ID in the channel settings first."))
        return _back_to_360(customer)
    code = line_inbound.line_link_code_issue(tenant=request.tenant, customer=customer, user=request.user)
    url = prefilled_message_url(settings_row.line_basic_id, _("Link code: %(code)s") % {"code": code})
    extra = {
        "link_code": code,
        "link_qr": qr_svg(url, title=_("QR code to link %(name)s on LINE") % {"name": customer.full_name}),
        "link_url": url,
    }
    if request.htmx:
        return _panel(request, customer, **extra)
    return render(request, "channels/line_link_code.html", {"customer": customer, **extra})


@tenant_view(write=Role.STAFF)
@require_POST
def line_reply(request, pk: int):
    customer = customer_get(tenant=request.tenant, pk=pk)
    form = LineReplyForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            line_inbound.line_reply_send(
                tenant=request.tenant,
                customer=customer,
                staff=request.user,
                text=form.cleaned_data["text"],
                nonce=form.cleaned_data["nonce"],
            )
        except ApplicationError as exc:
            error = exc.message
        else:
            if not request.htmx:
                messages.success(request, _("Sent on LINE."))
                return _back_to_360(customer)
            return _panel(request, customer, line_sent=True)
    if not request.htmx:
        messages.error(request, error or _("Write a message first."))
        return _back_to_360(customer)
    # The form keeps the typed text and its nonce, so sending again after a failure is not a duplicate.
    return _panel(request, customer, status=400 if not error else 502, line_reply_form=form, line_error=error)


@tenant_view(write=Role.STAFF)
@require_POST
def line_link_contact(request, pk: int):
    """Staff link a LINE user who wrote before linking to this customer."""
    customer = customer_get(tenant=request.tenant, pk=pk)
    contacts = list(line_selectors.unlinked_line_contacts(tenant=request.tenant))
    form = LinkContactForm(request.POST, contacts=contacts)
    if not form.is_valid():
        raise Http404
    contact = line_selectors.unlinked_line_contact_get(tenant=request.tenant, pk=form.cleaned_data["contact"])
    line_inbound.line_contact_link_by_staff(tenant=request.tenant, contact=contact, customer=customer)
    messages.success(request, _("LINE user linked."))
    return _back_to_360(customer)


# --- staff: inbox, mark done, counter QR ------------------------------------------------------------
@tenant_view()
def line_inbox(request):
    tenant = request.tenant
    unanswered = line_selectors.unanswered_line_messages(tenant=tenant)
    unlinked = line_selectors.unlinked_line_messages(tenant=tenant)
    return render(
        request,
        "channels/line_inbox.html",
        {
            "unanswered": unanswered[:100],
            "unanswered_count": unanswered.count(),
            "unlinked": unlinked[:100],
            "can_edit": request.membership.has_role(Role.STAFF),
        },
    )


@tenant_view(write=Role.STAFF)
@require_POST
def line_message_done(request, pk: int):
    interaction = line_selectors.unanswered_line_message_get(tenant=request.tenant, pk=pk)
    line_inbound.line_message_mark_done(tenant=request.tenant, interaction=interaction)
    nxt = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        nxt = reverse("line:inbox")
    return redirect(nxt)


@tenant_view()
def line_counter_qr(request):
    """The generic QR code for the counter: add the shop's account as a friend (printable)."""
    settings_row = channel_settings_get(tenant_id=request.tenant.pk)
    basic_id = settings_row.line_basic_id
    url = add_friend_url(basic_id) if basic_id else ""
    return render(
        request,
        "channels/line_counter_qr.html",
        {
            "basic_id": basic_id,
            "friend_url": url,
            "qr": qr_svg(url, title=_("QR code to add %(shop)s on LINE") % {"shop": request.tenant.name})
            if url
            else "",
            "webhook_url": line_selectors.line_webhook_url(tenant_id=request.tenant.pk),
        },
    )
