"""Customer search (name, furigana, phone, plate) and the 車検 sort of the customer list."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import VehicleStatus
from customers.selectors import customer_search
from tests.factories import CustomerFactory, VehicleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(tenant, other_tenant):
    yamada = CustomerFactory(
        tenant=tenant,
        family_name="山田",
        given_name="太郎",
        family_name_kana="ヤマダ",
        given_name_kana="タロウ",
        phone="090-1234-5678",
        email="taro@example.jp",
    )
    koyamada = CustomerFactory(
        tenant=tenant,
        family_name="小山田",
        given_name="花子",
        family_name_kana="オヤマダ",
        given_name_kana="ハナコ",
        phone="03-9876-5432",
        email="",
    )
    VehicleFactory(customer=koyamada, plate_number="品川 300 さ 12-34")
    # Same name, phone and plate in another shop: never found.
    stranger = CustomerFactory(
        tenant=other_tenant,
        family_name="山田",
        family_name_kana="ヤマダ",
        phone="090-1234-5678",
    )
    VehicleFactory(customer=stranger, plate_number="品川 300 さ 12-34")
    return {"yamada": yamada, "koyamada": koyamada}


def _found(tenant, q):
    return sorted(customer_search(tenant=tenant, q=q).values_list("family_name", flat=True))


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("山田", ["山田"]),  # two characters: at the start of a name (小山田 is not a 山田)
        ("山田太", []),  # a family name and a given name are separate fields…
        ("山田 太郎", ["山田"]),  # …searched together with a space
        ("山田　太郎", ["山田"]),  # a full-width space too
        ("山田 花子", []),
        ("ヤマダ", ["小山田", "山田"]),  # three characters: anywhere in the furigana
        ("やまだ", ["小山田", "山田"]),  # typed in hiragana
        ("ﾔﾏﾀﾞ", ["小山田", "山田"]),  # half-width katakana
        ("ハナ", ["小山田"]),  # two characters: the start of ハナコ…
        ("ナコ", []),  # …not its middle
        ("ハナコ", ["小山田"]),
        ("090-1234", ["山田"]),
        ("09012345678", ["山田"]),  # phone digits without the hyphens
        ("０９０１２３４", ["山田"]),  # full-width digits
        ("9876", ["小山田"]),
        ("300さ", ["小山田"]),  # plate number
        ("12-34", ["小山田", "山田"]),  # the plate's 12-34 and the phone's 1234
        ("品川300さ", ["小山田"]),  # plate without spaces
        ("TARO@EXAMPLE", ["山田"]),  # e-mail, any case
        ("", ["小山田", "山田"]),
    ],
)
def test_search_matches(people, tenant, q, expected):
    assert _found(tenant, q) == sorted(expected)


def test_search_never_returns_another_tenants_customer(people, other_tenant):
    assert _found(other_tenant, "山田") == ["山田"]
    assert customer_search(tenant=other_tenant, q="ハナコ").count() == 0


def test_search_results_keep_the_furigana_order(staff_client, tenant):
    for kana in ["ヤマダ", "アオヤマ", "ナカヤマ"]:
        CustomerFactory(tenant=tenant, family_name="山" + kana, family_name_kana=kana)
    response = staff_client.get(reverse("customers:list"), {"q": "ヤマ"})
    assert [c.family_name_kana for c in response.context["page"]] == ["ヤマダ"]
    response = staff_client.get(reverse("customers:list"), {"q": "ヤマダ ", "sort": "kana"})
    assert [c.family_name_kana for c in response.context["page"]] == ["ヤマダ"]
    response = staff_client.get(reverse("customers:list"), {"q": "山"})
    assert [c.family_name_kana for c in response.context["page"]] == ["アオヤマ", "ナカヤマ", "ヤマダ"]


def test_inspection_sort_orders_customers_by_their_soonest_owned_car(staff_client, tenant):
    today = timezone.localdate()
    a = CustomerFactory(tenant=tenant, family_name="甲")
    b = CustomerFactory(tenant=tenant, family_name="乙")
    c = CustomerFactory(tenant=tenant, family_name="丙")
    CustomerFactory(tenant=tenant, family_name="丁")  # no car: not listed
    VehicleFactory(customer=a, inspection_expiry=today + timedelta(days=300))
    VehicleFactory(customer=a, inspection_expiry=today + timedelta(days=5))  # a's soonest
    VehicleFactory(
        customer=b, inspection_expiry=today + timedelta(days=1), status=VehicleStatus.SOLD
    )  # sold: ignored
    VehicleFactory(customer=b, inspection_expiry=today + timedelta(days=30))
    VehicleFactory(customer=c, inspection_expiry=today + timedelta(days=30))  # tie with b
    VehicleFactory(customer=c, inspection_expiry=today + timedelta(days=30))  # same date twice
    VehicleFactory(customer=c, inspection_expiry=None)
    response = staff_client.get(reverse("customers:list"), {"sort": "inspection"})
    page = response.context["page"]
    assert page.paginator.count == 3
    assert [(x.family_name, (x.next_inspection - today).days) for x in page] == [
        ("甲", 5),
        *sorted([("乙", 30), ("丙", 30)], key=lambda r: {"乙": b.pk, "丙": c.pk}[r[0]]),
    ]
    # With a filter, the same order over the matching customers only.
    response = staff_client.get(reverse("customers:list"), {"sort": "inspection", "q": "丙"})
    assert [x.family_name for x in response.context["page"]] == ["丙"]
    assert response.context["page"].paginator.count == 1


def test_inspection_sort_pages(staff_client, tenant, settings):
    today = timezone.localdate()
    customers = CustomerFactory.create_batch(55, tenant=tenant)
    for i, customer in enumerate(customers):
        VehicleFactory(customer=customer, inspection_expiry=today + timedelta(days=100 - i))
    second = staff_client.get(reverse("customers:list"), {"sort": "inspection", "page": 2})
    page = second.context["page"]
    assert page.paginator.count == 55
    assert [x.pk for x in page] == [c.pk for c in customers[:5]][::-1]
