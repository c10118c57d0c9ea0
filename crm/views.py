"""Login, tenant picker and other platform-level pages."""

import json

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.tokens import default_token_generator
from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import url_has_allowed_host_and_scheme, urlsafe_base64_encode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from crm.api.keys import api_key_create, api_key_revoke
from crm.common.csvsafe import csv_response
from crm.common.errors import ApplicationError
from crm.forms import (
    TENANT_PROFILE_FIELDS,
    ApiKeyForm,
    AuditFilterForm,
    HandoverForm,
    MemberAddForm,
    MemberRemoveForm,
    MemberRoleForm,
    TenantProfileForm,
)
from crm.models import ApiKey, AuditAction, Membership, Tenant, User
from crm.security.audit import audit_record
from crm.security.twofactor import begin_second_step
from crm.selectors import audit_events, member_workload, membership_get, tenant_members, tenant_users
from crm.services import membership_create, membership_remove, membership_set_role, tenant_settings_update
from crm.tenancy.middleware import activate_tenant
from crm.tenancy.permissions import tenant_view
from crm.tenancy.roles import MANAGE_TENANT, Role
from customers.models import Customer, Handover
from customers.services import customers_handover


class LoginView(auth_views.LoginView):
    template_name = "crm/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):
        # A person with an authenticator app logs in only after the code step (crm/security/twofactor.py).
        second_step = begin_second_step(self.request, form.get_user(), self.get_success_url())
        return second_step or super().form_valid(form)


@login_required
@require_http_methods(["GET", "POST"])
def tenant_picker(request):
    """Choose the active tenant among the user's memberships (the choice lives in the session)."""
    if request.method == "POST":
        membership = membership_get(user=request.user, tenant_id=int(request.POST.get("tenant", 0) or 0))
        activate_tenant(request, membership)
        nxt = request.POST.get("next") or ""
        if not url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
            nxt = reverse("today")
        return redirect(nxt or "today")
    return render(request, "crm/tenant_picker.html", {"memberships": request.memberships})


# --- settings (owners) --------------------------------------------------------------------------------
SETTINGS_ROLE = MANAGE_TENANT


def _settings_render(request, template, active, **ctx):
    return render(request, template, {"active": active, **ctx})


@tenant_view(read=SETTINGS_ROLE, write=SETTINGS_ROLE)
def settings_profile(request):
    tenant = Tenant.objects.get(pk=request.tenant.pk)
    form = TenantProfileForm(request.POST or None, instance=tenant)
    if request.method == "POST" and form.is_valid():
        data = {f: form.cleaned_data[f] for f in TENANT_PROFILE_FIELDS}
        tenant_settings_update(tenant=tenant, fields=TENANT_PROFILE_FIELDS, data=data)
        messages.success(request, _("Settings saved."))
        return redirect("settings_profile")
    return _settings_render(request, "crm/settings_profile.html", "profile", form=form)


@tenant_view(read=SETTINGS_ROLE, write=SETTINGS_ROLE)
def settings_members(request):
    tenant = request.tenant
    form = MemberAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"].strip().lower()
        # Users are global (one login for many shops); looking one up by e-mail is how an owner adds them.
        user = User.objects.filter(email__iexact=email).first()
        invited = user is None
        if invited:
            user = User.objects.create_user(email=email, password=None)
        if Membership.objects.for_tenant(tenant).filter(user=user).exists():
            form.add_error("email", _("This person is already a member."))
        else:
            membership_create(tenant=tenant, user=user, role=form.cleaned_data["role"])
            if invited:
                _send_invitation(request, user)
                messages.success(request, _("Invitation sent to %(email)s.") % {"email": email})
            else:
                messages.success(request, _("%(email)s added.") % {"email": email})
            return redirect("settings_members")
    members = tenant_members(tenant=tenant)
    return _settings_render(
        request,
        "crm/settings_members.html",
        "members",
        form=form,
        members=members,
        roles=Role.choices,
    )


def _send_invitation(request, user: User) -> None:
    """A new member sets a password through a password-reset link (their password starts unusable)."""
    context = {
        "email": user.email,
        "domain": request.get_host(),
        "site_name": "Kizuna",
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "user": user,
        "token": default_token_generator.make_token(user),
        "protocol": "https" if request.is_secure() else "http",
        "tenant_name": request.tenant.name,
    }
    PasswordResetForm().send_mail(
        "registration/invitation_subject.txt", "registration/invitation_email.txt", context, None, user.email
    )


@tenant_view(read=SETTINGS_ROLE, write=SETTINGS_ROLE)
@require_POST
def settings_member_role(request, pk: int):
    membership = get_object_or_404(Membership.objects.for_tenant(request.tenant), pk=pk)
    form = MemberRoleForm(request.POST)
    if form.is_valid():
        try:
            membership_set_role(tenant=request.tenant, membership=membership, role=form.cleaned_data["role"])
        except ApplicationError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Role updated."))
    return redirect("settings_members")


@tenant_view(read=SETTINGS_ROLE, write=SETTINGS_ROLE)
def settings_member_remove(request, pk: int):
    """Confirm and remove a member who left; what they still hold goes to a successor in the same step."""
    tenant = request.tenant
    membership = get_object_or_404(Membership.objects.for_tenant(tenant).select_related("user"), pk=pk)
    leaving = membership.user
    workload = member_workload(tenant=tenant, user=leaving)
    form = MemberRemoveForm(
        request.POST or None, tenant=tenant, leaving=leaving, needs_successor=workload.any
    )
    if request.method == "POST" and form.is_valid():
        try:
            moved = membership_remove(
                tenant=tenant,
                membership=membership,
                successor=form.cleaned_data.get("successor"),
                performed_by=request.user,
            )
        except ApplicationError as exc:
            form.add_error(None, str(exc))
        else:
            done = _("%(email)s removed.") % {"email": leaving.email}
            if moved.any:
                done += " " + _("Handed over %(c)d customers, %(d)d open deals and %(t)d open calls.") % {
                    "c": moved.customers,
                    "d": moved.open_deals,
                    "t": moved.open_calls,
                }
            messages.success(request, done)
            return redirect("settings_members")
    return _settings_render(
        request,
        "crm/settings_member_remove.html",
        "members",
        form=form,
        member=membership,
        workload=workload,
        is_self=leaving.pk == request.user.pk,
    )


@tenant_view(read=SETTINGS_ROLE, write=SETTINGS_ROLE)
def settings_api_keys(request):
    tenant = request.tenant
    form = ApiKeyForm(request.POST or None)
    raw_key = None
    if request.method == "POST" and form.is_valid():
        _key, raw_key = api_key_create(
            tenant=tenant,
            name=form.cleaned_data["name"],
            scope=form.cleaned_data["scope"],
            created_by=request.user,
        )
        form = ApiKeyForm()
    keys = ApiKey.objects.for_tenant(tenant).select_related("created_by").order_by("-created_at")[:100]
    response = _settings_render(
        request, "crm/settings_api_keys.html", "api_keys", form=form, keys=keys, raw_key=raw_key
    )
    if raw_key:
        response["Cache-Control"] = "no-store"  # the raw key is on this page only once
    return response


@tenant_view(read=SETTINGS_ROLE, write=SETTINGS_ROLE)
@require_POST
def settings_api_key_revoke(request, pk: int):
    key = api_key_revoke(tenant=request.tenant, key_id=pk)
    messages.success(request, _("Key “%(name)s” revoked.") % {"name": key.name})
    return redirect("settings_api_keys")


@tenant_view(read=SETTINGS_ROLE, write=SETTINGS_ROLE)
def settings_handover(request):
    tenant = request.tenant
    form = HandoverForm(request.POST or None, tenant=tenant)
    if request.method == "POST" and form.is_valid():
        try:
            handover = customers_handover(
                tenant=tenant,
                from_user=form.cleaned_data["from_user"],
                to_user=form.cleaned_data["to_user"],
                performed_by=request.user,
            )
        except ApplicationError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("Handed over %(c)d customers and %(d)d open deals.")
                % {"c": handover.customers_moved, "d": handover.deals_moved},
            )
            return redirect("settings_handover")
    counts = dict(
        Customer.objects.for_tenant(tenant)
        .filter(assigned_staff__isnull=False)
        .values_list("assigned_staff")
        .annotate(n=Count("pk"))
        .order_by()
    )
    staff = [{"user": u, "customers": counts.get(u.pk, 0)} for u in tenant_users(tenant=tenant)]
    history = (
        Handover.objects.for_tenant(tenant)
        .select_related("from_user", "to_user")
        .order_by("-created_at")[:20]
    )
    return _settings_render(
        request, "crm/settings_handover.html", "handover", form=form, staff=staff, history=history
    )


AUDIT_PAGE_SIZE = 50
AUDIT_EXPORT_LIMIT = 100_000


def _audit_rows(events):
    yield [_("Time"), _("Action"), _("User or key"), _("IP address"), _("Target"), _("Summary"), _("Changes")]
    labels = dict(AuditAction.choices)
    for e in events.iterator(chunk_size=2000):
        yield [
            timezone.localtime(e.created_at).strftime("%Y-%m-%d %H:%M:%S"),
            str(labels.get(e.action, e.action)),
            e.actor_label,
            e.ip or "",
            f"{e.target_type}#{e.target_id}" if e.target_id else e.target_type,
            e.summary,
            json.dumps(e.changes, ensure_ascii=False, sort_keys=True) if e.changes else "",
        ]


@tenant_view(read=SETTINGS_ROLE, write=SETTINGS_ROLE)
def settings_audit(request):
    """The shop's audit trail (owners only): filters, pages, and a CSV download that is itself audited."""
    tenant = request.tenant
    form = AuditFilterForm(request.GET or None, tenant=tenant)
    data = form.cleaned_data if form.is_valid() else {}
    events = audit_events(
        tenant=tenant,
        action=data.get("action") or "",
        user_id=data["user"].pk if data.get("user") else None,
        since=data.get("since"),
        until=data.get("until"),
    )
    params = request.GET.copy()
    params.pop("page", None)
    if params.pop("format", None) == ["csv"]:
        audit_record(
            tenant=tenant,
            action=AuditAction.AUDIT_EXPORTED,
            target_type="crm.auditevent",
            summary="audit.csv",
            changes={"filters": sorted(params.keys())},
            request=request,
        )
        return csv_response(_audit_rows(events[:AUDIT_EXPORT_LIMIT]), "audit.csv")
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    return _settings_render(
        request,
        "crm/settings_audit.html",
        "audit",
        form=form,
        page=page,
        querystring=params.urlencode(),
    )
