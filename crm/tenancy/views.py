"""Pages of the tenancy core: the tenant picker and the shop's settings (profile, members).

The settings area is the shop's: its pages share one role (`SETTINGS_ROLE`) and one layout
(`settings_render`, with the settings navigation), also for the pages other rooms and apps add to it
(API keys, handover, audit trail).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.tokens import default_token_generator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import url_has_allowed_host_and_scheme, urlsafe_base64_encode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from crm.common.errors import ApplicationError
from crm.models import Membership, Tenant, User
from crm.tenancy.forms import (
    TENANT_PROFILE_FIELDS,
    MemberAddForm,
    MemberRemoveForm,
    MemberRoleForm,
    TenantProfileForm,
)
from crm.tenancy.handover import member_workload
from crm.tenancy.middleware import activate_tenant
from crm.tenancy.permissions import tenant_view
from crm.tenancy.roles import MANAGE_TENANT, Role
from crm.tenancy.selectors import membership_get, tenant_members
from crm.tenancy.services import (
    membership_create,
    membership_remove,
    membership_set_role,
    tenant_settings_update,
)

# --- settings (owners) --------------------------------------------------------------------------------
SETTINGS_ROLE = MANAGE_TENANT


def settings_render(request, template, active, **ctx):
    """A page of the settings area: its template, with `active` marking its tab in the navigation."""
    return render(request, template, {"active": active, **ctx})


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


@tenant_view(read=SETTINGS_ROLE, write=SETTINGS_ROLE)
def settings_profile(request):
    tenant = Tenant.objects.get(pk=request.tenant.pk)
    form = TenantProfileForm(request.POST or None, instance=tenant)
    if request.method == "POST" and form.is_valid():
        data = {f: form.cleaned_data[f] for f in TENANT_PROFILE_FIELDS}
        tenant_settings_update(tenant=tenant, fields=TENANT_PROFILE_FIELDS, data=data)
        messages.success(request, _("Settings saved."))
        return redirect("settings_profile")
    return settings_render(request, "crm/settings_profile.html", "profile", form=form)


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
    return settings_render(
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
    return settings_render(
        request,
        "crm/settings_member_remove.html",
        "members",
        form=form,
        member=membership,
        workload=workload,
        is_self=leaving.pk == request.user.pk,
    )
