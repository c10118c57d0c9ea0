"""factory_boy factories for every model of the foundation. Related rows share the tenant."""

from datetime import date, timedelta

import factory
from django.utils import timezone

from crm.models import Membership, Tenant, User
from crm.tenancy.roles import Role
from customers.models import (
    Customer,
    Household,
    Purchase,
    PurchaseCategory,
    ServiceKind,
    ServiceRecord,
    Vehicle,
)
from interactions.models import CallTask, Deal, Interaction


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant
        django_get_or_create = ("slug",)
        skip_postgeneration_save = True

    slug = factory.Sequence(lambda n: f"shop-{n}")
    name = factory.Sequence(lambda n: f"Shop {n}")
    sender_email = factory.LazyAttribute(lambda t: f"info@{t.slug}.test")
    phone = "03-1234-5678"

    @factory.post_generation
    def categories(obj, create, extracted, **kwargs):
        if create:
            from customers.services import purchase_categories_create_defaults

            purchase_categories_create_defaults(tenant=obj)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    display_name = factory.Sequence(lambda n: f"Staff {n}")
    password = factory.PostGenerationMethodCall("set_password", "kizuna-test-pass-1")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    tenant = factory.SubFactory(TenantFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.STAFF


class HouseholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Household

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Household {n}")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    tenant = factory.SubFactory(TenantFactory)
    family_name = "山田"
    given_name = factory.Sequence(lambda n: f"太郎{n}")
    family_name_kana = "ヤマダ"
    given_name_kana = "タロウ"
    email = factory.Sequence(lambda n: f"customer{n}@example.jp")
    phone = "090-1234-5678"
    postal_code = "150-0001"
    prefecture = "東京都"
    address = "渋谷区神宮前1-1-1"


class VehicleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vehicle

    customer = factory.SubFactory(CustomerFactory)
    tenant = factory.SelfAttribute("customer.tenant")
    maker = "トヨタ"
    model_name = "プリウス"
    plate_number = factory.Sequence(lambda n: f"品川 300 さ {n % 100:02d}-{n % 97:02d}")
    inspection_expiry = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=60))


def _category(tenant, code):
    return PurchaseCategory.objects.for_tenant(tenant).get(code=code)


class PurchaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Purchase

    class Params:
        category_code = "parts"

    customer = factory.SubFactory(CustomerFactory)
    tenant = factory.SelfAttribute("customer.tenant")
    date = factory.LazyFunction(lambda: date(2025, 6, 1))
    category = factory.LazyAttribute(lambda o: _category(o.tenant, o.category_code))
    amount = 10_000
    gross_profit = 3_000


class ServiceRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceRecord

    vehicle = factory.SubFactory(VehicleFactory)
    customer = factory.SelfAttribute("vehicle.customer")
    tenant = factory.SelfAttribute("vehicle.tenant")
    date = factory.LazyFunction(lambda: date(2025, 6, 1))
    kind = ServiceKind.OIL_CHANGE
    amount = 5_000
    gross_profit = 2_000


class InteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Interaction

    customer = factory.SubFactory(CustomerFactory)
    tenant = factory.SelfAttribute("customer.tenant")
    channel = "phone"
    occurred_at = factory.LazyFunction(timezone.now)
    summary = "点検のご案内をお電話しました。"


class DealFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Deal

    customer = factory.SubFactory(CustomerFactory)
    tenant = factory.SelfAttribute("customer.tenant")
    title = "新車商談"
    expected_amount = 3_000_000
    expected_close = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=14))


class CallTaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CallTask

    customer = factory.SubFactory(CustomerFactory)
    tenant = factory.SelfAttribute("customer.tenant")
    due_date = factory.LazyFunction(timezone.localdate)
    reason = "車検のご案内"
