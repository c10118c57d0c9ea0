"""The settings pages of the API: the shop's API keys (owners). The keys themselves: crm.api.keys."""

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.api.forms import ApiKeyForm
from crm.api.keys import api_key_create, api_key_revoke
from crm.models import ApiKey
from crm.tenancy.permissions import tenant_view
from crm.tenancy.views import SETTINGS_ROLE, settings_render


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
    response = settings_render(
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
