"""Use-cases of the customer record: handover, consent, tags, service records."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from crm.common.errors import ApplicationError
from customers.models import Consent, Customer, Handover, ServiceKind
from customers.services import (
    customer_set_consent,
    customer_set_tags,
    customers_assign,
    customers_handover,
    service_record_create,
)
from interactions.models import Deal, DealStage
from tests.factories import CustomerFactory, DealFactory, VehicleFactory

pytestmark = pytest.mark.django_db


def test_handover_moves_customers_and_open_deals_and_is_recorded(tenant, owner, staff, manager):
    leaving, taking_over = staff, manager
    mine = CustomerFactory.create_batch(3, tenant=tenant, assigned_staff=leaving)
    untouched = CustomerFactory(tenant=tenant, assigned_staff=owner)
    open_deal = DealFactory(tenant=tenant, customer=mine[0], owner=leaving, stage=DealStage.PROPOSAL)
    won_deal = DealFactory(tenant=tenant, customer=mine[1], owner=leaving, stage=DealStage.WON)

    handover = customers_handover(tenant=tenant, from_user=leaving, to_user=taking_over, performed_by=owner)

    assert (handover.customers_moved, handover.deals_moved) == (3, 1)
    assert set(Customer.objects.for_tenant(tenant).filter(assigned_staff=taking_over)) == set(mine)
    untouched.refresh_from_db()
    assert untouched.assigned_staff == owner
    assert Deal.objects.for_tenant(tenant).get(pk=open_deal.pk).owner == taking_over
    assert Deal.objects.for_tenant(tenant).get(pk=won_deal.pk).owner == leaving
    assert Handover.objects.for_tenant(tenant).get().performed_by == owner


def test_handover_to_someone_outside_the_tenant_is_refused(tenant, owner, staff, other_owner):
    CustomerFactory(tenant=tenant, assigned_staff=staff)
    with pytest.raises(ApplicationError):
        customers_handover(tenant=tenant, from_user=staff, to_user=other_owner, performed_by=owner)
    assert Customer.objects.for_tenant(tenant).get().assigned_staff == staff
    assert not Handover.objects.for_tenant(tenant).exists()


def test_assigning_to_a_user_of_another_tenant_is_refused(tenant, other_owner):
    customer = CustomerFactory(tenant=tenant)
    with pytest.raises(ValidationError):
        customers_assign(tenant=tenant, customer_ids=[customer.pk], staff=other_owner)
    customer.refresh_from_db()
    assert customer.assigned_staff is None


def test_opt_out_is_recorded_with_time_and_source(tenant):
    customer = CustomerFactory(tenant=tenant)
    customer = customer_set_consent(
        tenant=tenant, customer=customer, consent=Consent.OPTED_IN, source="web form"
    )
    assert customer.can_receive_marketing_email
    customer = customer_set_consent(
        tenant=tenant, customer=customer, consent=Consent.OPTED_OUT, source="phone"
    )
    assert customer.consent == Consent.OPTED_OUT
    assert customer.opted_out_at is not None
    assert customer.consent_source == "phone"
    assert not customer.can_receive_marketing_email


def test_tags_are_per_tenant_and_replaced_as_a_set(tenant, other_tenant):
    customer = CustomerFactory(tenant=tenant)
    customer_set_tags(tenant=tenant, customer=customer, names=["VIP", "法人"])
    customer_set_tags(tenant=tenant, customer=customer, names=["VIP", "紹介"])
    assert sorted(t.name for t in customer.tags.all()) == ["VIP", "紹介"]
    other = CustomerFactory(tenant=other_tenant)
    customer_set_tags(tenant=other_tenant, customer=other, names=["VIP"])
    assert customer.tags.get(name="VIP").tenant_id == tenant.pk


def test_shaken_service_moves_inspection_expiry_two_years_on(tenant):
    vehicle = VehicleFactory(customer=CustomerFactory(tenant=tenant), inspection_expiry=date(2026, 12, 10))
    record = service_record_create(
        tenant=tenant,
        customer=vehicle.customer,
        vehicle=vehicle,
        date=date(2026, 11, 20),
        kind=ServiceKind.SHAKEN,
        amount=120_000,
        mileage=45_000,
    )
    vehicle.refresh_from_db()
    assert vehicle.inspection_expiry == date(2028, 12, 10)
    assert vehicle.mileage == 45_000
    assert record.next_due == date(2028, 11, 20)
