"""Customer 360 quick actions: an invalid form comes back with its errors next to the fields and the
entered values kept, and nothing is saved."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.urls import reverse

from customers.models import Consent, ServiceRecord, Vehicle
from interactions.models import CallTask, Interaction
from tests.factories import CustomerFactory, VehicleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(tenant):
    return CustomerFactory(tenant=tenant, family_name="佐藤", given_name="花子")


@pytest.fixture
def vehicle(customer):
    return VehicleFactory(customer=customer, inspection_expiry=date(2030, 5, 1), mileage=40_000)


def _field_error_follows_widget(html: str, field: str) -> bool:
    """The widget is marked invalid, points at its error, and the error block comes right after it."""
    widget = re.search(rf'<(input|select|textarea)\b[^>]*\bid="id_{field}"[^>]*>', html)
    if widget is None:
        return False
    tag = widget.group(0)
    if 'aria-invalid="true"' not in tag or f"id_{field}_error" not in tag or "is-invalid" not in tag:
        return False
    error_at = html.find(f'id="id_{field}_error"', widget.end())
    next_widget = re.search(r"<(input|select|textarea)\b", html[widget.end() + 1 :])
    return error_at != -1 and (next_widget is None or error_at < widget.end() + 1 + next_widget.start())


def _active_tab(html: str) -> str:
    return re.search(r'<div class="tab-pane fade show active" id="pane-(\w+)"', html).group(1)


def test_log_without_summary_shows_the_error_at_the_summary_and_keeps_the_channel(staff_client, customer):
    url = reverse("customers:log_interaction", args=[customer.pk])
    response = staff_client.post(url, {"channel": "visit", "summary": "  ", "follow_up_needed": "on"})
    assert response.status_code == 400
    form = response.context["interaction_form"]
    assert list(form.errors) == ["summary"]
    html = response.content.decode()
    assert _field_error_follows_widget(html, "summary")
    assert re.search(r'<option value="visit" selected>', html)
    assert re.search(r'<input type="checkbox" name="follow_up_needed"[^>]*checked', html)
    assert _active_tab(html) == "log"
    assert not Interaction.objects.for_tenant(customer.tenant).exists()


def test_service_record_errors_sit_next_to_date_and_mileage_and_values_are_kept(
    staff_client, customer, vehicle
):
    url = reverse("customers:add_service", args=[customer.pk])
    response = staff_client.post(
        url,
        {
            "vehicle": vehicle.pk,
            "date": "2026-02-30",
            "kind": "shaken",
            "amount": "12000",
            "mileage": "たくさん",
            "notes": "オイル漏れ点検も",
        },
    )
    assert response.status_code == 400
    form = response.context["service_form"]
    assert sorted(form.errors) == ["date", "mileage"]
    html = response.content.decode()
    assert _field_error_follows_widget(html, "date")
    assert _field_error_follows_widget(html, "mileage")
    assert not _field_error_follows_widget(html, "amount")
    assert 'value="2026-02-30"' in html
    assert 'value="12000"' in html
    assert re.search(r">\s*オイル漏れ点検も</textarea>", html)
    assert re.search(r'<option value="shaken" selected>', html)
    assert _active_tab(html) == "service"
    # Nothing saved, and the 車検 did not move the vehicle's expiry.
    assert not ServiceRecord.objects.for_tenant(customer.tenant).exists()
    vehicle = Vehicle.objects.for_tenant(customer.tenant).get(pk=vehicle.pk)
    assert (vehicle.inspection_expiry, vehicle.mileage) == (date(2030, 5, 1), 40_000)


def test_service_record_for_another_customers_vehicle_is_a_vehicle_field_error(
    staff_client, customer, vehicle, tenant
):
    someone_else = VehicleFactory(customer=CustomerFactory(tenant=tenant))
    response = staff_client.post(
        reverse("customers:add_service", args=[customer.pk]),
        {"vehicle": someone_else.pk, "date": "2026-01-05", "kind": "oil_change"},
    )
    assert response.status_code == 400
    assert list(response.context["service_form"].errors) == ["vehicle"]
    assert _field_error_follows_widget(response.content.decode(), "vehicle")
    assert not ServiceRecord.objects.for_tenant(tenant).exists()


def test_follow_up_without_date_and_reason_keeps_the_assignee(staff_client, staff, customer, manager):
    response = staff_client.post(
        reverse("customers:follow_up", args=[customer.pk]),
        {"due_date": "", "reason": "", "assigned_to": manager.pk},
    )
    assert response.status_code == 400
    form = response.context["followup_form"]
    assert sorted(form.errors) == ["due_date", "reason"]
    html = response.content.decode()
    assert _field_error_follows_widget(html, "due_date")
    assert _field_error_follows_widget(html, "reason")
    assert re.search(rf'<option value="{manager.pk}" selected>', html)
    assert _active_tab(html) == "follow"
    # The other quick-action forms are shown blank, without errors.
    assert not response.context["interaction_form"].is_bound
    assert not response.context["service_form"].is_bound
    assert not CallTask.objects.for_tenant(customer.tenant).exists()


def test_consent_without_source_is_a_field_error_and_nothing_changes(staff_client, customer):
    response = staff_client.post(
        reverse("customers:consent", args=[customer.pk]), {"consent": "opted_in", "source": ""}
    )
    assert response.status_code == 400
    assert list(response.context["consent_form"].errors) == ["source"]
    assert _field_error_follows_widget(response.content.decode(), "source")
    customer.refresh_from_db()
    assert (customer.consent, customer.consent_at) == (Consent.UNKNOWN, None)


def test_invalid_quick_action_of_another_tenant_is_still_404(other_client, customer):
    response = other_client.post(
        reverse("customers:log_interaction", args=[customer.pk]), {"channel": "phone", "summary": ""}
    )
    assert response.status_code == 404


def test_valid_quick_action_still_redirects_to_the_360_page(staff_client, customer):
    url = reverse("customers:log_interaction", args=[customer.pk])
    response = staff_client.post(url, {"channel": "phone", "summary": "車検の案内"})
    assert response.status_code == 302
    assert response.url == reverse("customers:detail", args=[customer.pk])
    assert Interaction.objects.for_tenant(customer.tenant).get().summary == "車検の案内"
