"""Every model of the customer record rejects bad data with a clear, field-level error."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from customers.models import (
    Consent,
    Customer,
    Purchase,
    PurchaseCategory,
    ServiceKind,
    ServiceRecord,
    Vehicle,
)
from customers.services import customer_create, purchase_create, service_record_create, vehicle_create
from interactions.models import Deal, DealStage, Interaction
from interactions.services import deal_create, interaction_create
from tests.factories import CustomerFactory, VehicleFactory

pytestmark = pytest.mark.django_db


def _errors(exc_info) -> dict:
    return exc_info.value.message_dict


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("email", "not-an-email", "invalid"),
        ("postal_code", "1234567", "invalid_postal_code"),
        ("postal_code", "12-34567", "invalid_postal_code"),
        ("phone", "call me", "invalid_phone"),
        ("family_name_kana", "Yamada", "invalid_kana"),
        ("given_name_kana", "太郎", "invalid_kana"),
    ],
)
def test_customer_personal_data_is_validated(tenant, field, value, code):
    with pytest.raises(ValidationError) as exc_info:
        customer_create(tenant=tenant, family_name="山田", **{field: value})
    assert list(exc_info.value.error_dict) == [field]
    assert [e.code for e in exc_info.value.error_dict[field]] == [code]
    assert Customer.objects.for_tenant(tenant).count() == 0


def test_errors_are_clear_in_both_languages(tenant):
    with pytest.raises(ValidationError) as exc_info:
        customer_create(tenant=tenant, family_name="山田", postal_code="1234567", family_name_kana="Yamada")
    with translation.override("en"):
        assert _errors(exc_info)["postal_code"] == ["Enter a postal code in the form 123-4567."]
        assert _errors(exc_info)["family_name_kana"] == ["Furigana must be written in kana only."]


def test_valid_japanese_customer_is_saved(tenant):
    customer = customer_create(
        tenant=tenant,
        family_name="山田",
        given_name="花子",
        family_name_kana="ヤマダ",
        given_name_kana="はなこ",
        email="hanako@example.jp",
        phone="090-1234-5678",
        postal_code="150-0001",
        consent=Consent.OPTED_IN,
        consent_source="店頭",
    )
    assert customer.consent_at is not None
    assert customer.consent_source == "店頭"
    assert customer.can_receive_marketing_email


def test_purchase_amount_cannot_be_negative_unless_refund(tenant):
    customer = CustomerFactory(tenant=tenant)
    parts = PurchaseCategory.objects.for_tenant(tenant).get(code="parts")
    with pytest.raises(ValidationError) as exc_info:
        purchase_create(tenant=tenant, customer=customer, date=date(2025, 1, 1), category=parts, amount=-500)
    assert list(_errors(exc_info)) == ["amount"]
    refund = purchase_create(
        tenant=tenant, customer=customer, date=date(2025, 1, 1), category=parts, amount=-500, is_refund=True
    )
    assert refund.amount == -500
    assert Purchase.objects.for_tenant(tenant).count() == 1


def test_service_amount_cannot_be_negative(tenant):
    vehicle = VehicleFactory(customer=CustomerFactory(tenant=tenant))
    with pytest.raises(ValidationError) as exc_info:
        service_record_create(
            tenant=tenant,
            customer=vehicle.customer,
            vehicle=vehicle,
            date=date(2025, 1, 1),
            kind=ServiceKind.OIL_CHANGE,
            amount=-1,
        )
    assert "amount" in _errors(exc_info)
    assert ServiceRecord.objects.for_tenant(tenant).count() == 0


def test_vehicle_of_another_tenants_customer_is_rejected(tenant, other_tenant):
    theirs = CustomerFactory(tenant=other_tenant)
    with pytest.raises(ValidationError) as exc_info:
        vehicle_create(tenant=tenant, customer=theirs, maker="トヨタ", model_name="プリウス")
    assert list(_errors(exc_info)) == ["customer"]
    assert Vehicle.objects.unscoped().count() == 0


def test_purchase_of_another_tenants_vehicle_or_category_is_rejected(tenant, other_tenant):
    mine = CustomerFactory(tenant=tenant)
    their_vehicle = VehicleFactory(customer=CustomerFactory(tenant=other_tenant))
    their_category = PurchaseCategory.objects.for_tenant(other_tenant).get(code="parts")
    with pytest.raises(ValidationError) as exc_info:
        purchase_create(
            tenant=tenant, customer=mine, date=date(2025, 1, 1), category=their_category, amount=1
        )
    assert list(_errors(exc_info)) == ["category"]
    my_category = PurchaseCategory.objects.for_tenant(tenant).get(code="parts")
    with pytest.raises(ValidationError) as exc_info:
        purchase_create(
            tenant=tenant,
            customer=mine,
            vehicle=their_vehicle,
            date=date(2025, 1, 1),
            category=my_category,
            amount=1,
        )
    assert list(_errors(exc_info)) == ["vehicle"]


def test_service_vehicle_must_belong_to_the_customer(tenant):
    vehicle = VehicleFactory(customer=CustomerFactory(tenant=tenant))
    someone_else = CustomerFactory(tenant=tenant)
    with pytest.raises(ValidationError) as exc_info:
        service_record_create(
            tenant=tenant,
            customer=someone_else,
            vehicle=vehicle,
            date=date(2025, 1, 1),
            kind=ServiceKind.REPAIR,
        )
    assert list(_errors(exc_info)) == ["vehicle"]


def test_interaction_satisfaction_is_one_to_five(tenant):
    customer = CustomerFactory(tenant=tenant)
    with pytest.raises(ValidationError) as exc_info:
        interaction_create(tenant=tenant, customer=customer, channel="phone", summary="x", satisfaction=6)
    assert list(_errors(exc_info)) == ["satisfaction"]
    assert Interaction.objects.for_tenant(tenant).count() == 0


def test_lost_deal_needs_a_reason_and_cannot_use_a_foreign_customer(tenant, other_tenant):
    with pytest.raises(ValidationError) as exc_info:
        deal_create(tenant=tenant, customer=CustomerFactory(tenant=tenant), title="x", stage=DealStage.LOST)
    assert list(_errors(exc_info)) == ["lost_reason"]
    with pytest.raises(ValidationError) as exc_info:
        deal_create(tenant=tenant, customer=CustomerFactory(tenant=other_tenant), title="x")
    assert list(_errors(exc_info)) == ["customer"]
    assert Deal.objects.unscoped().count() == 0


def test_external_ref_is_unique_per_tenant_only(tenant, other_tenant):
    customer_create(tenant=tenant, family_name="山田", external_ref="POS-1")
    customer_create(tenant=other_tenant, family_name="山田", external_ref="POS-1")
    with pytest.raises(ValidationError):
        customer_create(tenant=tenant, family_name="佐藤", external_ref="POS-1")
    customer_create(tenant=tenant, family_name="佐藤")
    customer_create(tenant=tenant, family_name="鈴木")  # blank refs may repeat
    assert Customer.objects.for_tenant(tenant).count() == 3
