"""The settings page of a handover: a leaving staff member's customers and open deals go to another."""

from django.contrib import messages
from django.db.models import Count
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from crm.common.errors import ApplicationError
from crm.tenancy.permissions import tenant_view
from crm.tenancy.selectors import tenant_users
from crm.tenancy.views import SETTINGS_ROLE, settings_render
from customers.forms import HandoverForm
from customers.models import Customer, Handover
from customers.services import customers_handover


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
    return settings_render(
        request, "customers/settings_handover.html", "handover", form=form, staff=staff, history=history
    )
