"""Customer 360: one customer's whole record on one page, and its quick actions.

The page composes every app (the record, vehicles and history from customers; interactions, deals and
calls; sent reminders; RFM and LTV from analytics). Its quick actions write through each app's services
and, when validation fails, show the page again with the errors next to the fields.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from bookings.selectors import customer_upcoming_bookings
from channels.line_views import line_panel_context
from channels.selectors import customer_channel_overview
from crm.tenancy.permissions import tenant_view
from crm.tenancy.roles import EDIT_CUSTOMERS
from customers import forms
from customers.models import Customer, Vehicle
from customers.selectors import customer_get
from customers.services import customer_set_consent, service_record_create
from interactions.services import call_task_create, interaction_create
from workspace.selectors import TIMELINE_LIMIT, customer_insights, customer_timeline

BOOKINGS_SHOWN = 5

QUICK_ACTION_TABS = ("log", "service", "follow")


def _render_360(request, customer, *, status: int = 200, active_tab: str = "log", **bound_forms):
    """Customer 360. A quick action that failed validation passes its bound form (entered values and
    field errors) in `bound_forms` and the tab to open; the other forms start blank."""
    tenant = request.tenant
    today = timezone.localdate()
    vehicles = list(Vehicle.objects.for_tenant(tenant).filter(customer=customer).order_by("status", "pk"))
    for v in vehicles:
        v.days_left = (v.inspection_expiry - today).days if v.inspection_expiry else None
    household_members = (
        Customer.objects.for_tenant(tenant)
        .filter(household_id=customer.household_id)
        .exclude(pk=customer.pk)
        .order_by("pk")[:20]
        if customer.household_id
        else []
    )
    blank_forms = {
        "consent_form": lambda: forms.ConsentForm(initial={"consent": customer.consent}),
        "interaction_form": forms.InteractionQuickForm,
        "service_form": lambda: forms.ServiceRecordForm(
            tenant=tenant, customer=customer, initial={"date": today.isoformat()}
        ),
        "followup_form": lambda: forms.FollowUpForm(
            tenant=tenant,
            initial={"due_date": (today + timedelta(days=7)).isoformat(), "assigned_to": request.user.pk},
        ),
    }
    ctx = {
        "customer": customer,
        "tags": list(customer.tags.order_by("name").values_list("name", flat=True)),
        "vehicles": vehicles,
        "household_members": household_members,
        "timeline": customer_timeline(tenant=tenant, customer_id=customer.pk),
        "timeline_limit": TIMELINE_LIMIT,
        **{name: bound_forms[name] if name in bound_forms else make() for name, make in blank_forms.items()},
        "active_tab": active_tab if active_tab in QUICK_ACTION_TABS else "log",
        "can_edit": request.membership.has_role(EDIT_CUSTOMERS),
        **customer_insights(tenant=tenant, customer_id=customer.pk),
        "upcoming_bookings": list(
            customer_upcoming_bookings(tenant=tenant, customer_id=customer.pk, since=timezone.now())[
                :BOOKINGS_SHOWN
            ]
        ),
        **line_panel_context(request, customer),
        **customer_channel_overview(tenant_id=tenant.pk, customer=customer),
    }
    return render(request, "workspace/customer_360.html", ctx, status=status)


@tenant_view()
def customer_detail(request, pk: int):
    return _render_360(request, customer_get(tenant=request.tenant, pk=pk))


def _back_to(customer):
    return redirect("customers:detail", pk=customer.pk)


def _quick_action(request, customer, form, *, form_name: str, tab: str, save, done: str):
    """Save a valid quick-action form through its service and go back to the 360 page; otherwise
    (form or service validation) show the page again with the errors next to the fields (HTTP 400)."""
    if form.is_valid():
        try:
            save(form.cleaned_data)
        except ValidationError as exc:
            forms.add_validation_errors(form, exc)
        else:
            messages.success(request, done)
            return _back_to(customer)
    return _render_360(request, customer, status=400, active_tab=tab, **{form_name: form})


@tenant_view(write=EDIT_CUSTOMERS)
@require_POST
def customer_consent(request, pk: int):
    customer = customer_get(tenant=request.tenant, pk=pk)
    return _quick_action(
        request,
        customer,
        forms.ConsentForm(request.POST),
        form_name="consent_form",
        tab="log",
        save=lambda data: customer_set_consent(
            tenant=request.tenant, customer=customer, consent=data["consent"], source=data["source"]
        ),
        done=_("Consent updated."),
    )


@tenant_view(write=EDIT_CUSTOMERS)
@require_POST
def customer_log_interaction(request, pk: int):
    customer = customer_get(tenant=request.tenant, pk=pk)
    return _quick_action(
        request,
        customer,
        forms.InteractionQuickForm(request.POST),
        form_name="interaction_form",
        tab="log",
        save=lambda data: interaction_create(
            tenant=request.tenant, customer=customer, staff=request.user, **data
        ),
        done=_("Logged."),
    )


@tenant_view(write=EDIT_CUSTOMERS)
@require_POST
def customer_add_service(request, pk: int):
    customer = customer_get(tenant=request.tenant, pk=pk)
    return _quick_action(
        request,
        customer,
        forms.ServiceRecordForm(request.POST, tenant=request.tenant, customer=customer),
        form_name="service_form",
        tab="service",
        save=lambda data: service_record_create(tenant=request.tenant, customer=customer, **data),
        done=_("Service record added."),
    )


@tenant_view(write=EDIT_CUSTOMERS)
@require_POST
def customer_schedule_followup(request, pk: int):
    customer = customer_get(tenant=request.tenant, pk=pk)
    return _quick_action(
        request,
        customer,
        forms.FollowUpForm(request.POST, tenant=request.tenant),
        form_name="followup_form",
        tab="follow",
        save=lambda data: call_task_create(tenant=request.tenant, customer=customer, **data),
        done=_("Follow-up scheduled."),
    )
