"""The scoped manager fails closed, and the active tenant comes only from the user's memberships."""

import pytest
from django.apps import apps
from django.db import models
from django.urls import reverse

from crm.tenancy.middleware import SESSION_KEY
from crm.tenancy.scoping import TenantOwned, UnscopedQueryError
from customers.models import Customer
from tests.factories import CustomerFactory, MembershipFactory, TenantFactory, UserFactory, VehicleFactory

pytestmark = pytest.mark.django_db


def test_unscoped_queries_are_refused_on_every_path(tenant):
    CustomerFactory(tenant=tenant)
    for run in (
        lambda: list(Customer.objects.all()),
        lambda: Customer.objects.count(),
        lambda: Customer.objects.exists(),
        lambda: Customer.objects.filter(family_name="山田").first(),
        lambda: Customer.objects.aggregate(n=models.Count("pk")),
        lambda: Customer.objects.update(notes="x"),
        lambda: Customer.objects.all().delete(),
        lambda: list(Customer.objects.iterator()),
        lambda: Customer.objects.get(family_name="山田"),
    ):
        with pytest.raises(UnscopedQueryError):
            run()
    assert Customer.objects.for_tenant(tenant).filter(notes="x").count() == 0


def test_an_or_with_tenant_is_not_taken_for_scoping(tenant, other_tenant):
    CustomerFactory(tenant=tenant)
    with pytest.raises(UnscopedQueryError):
        list(Customer.objects.filter(models.Q(tenant=tenant) | models.Q(family_name="山田")))


def test_scoped_queries_see_only_their_tenant(tenant, other_tenant):
    mine = CustomerFactory(tenant=tenant)
    CustomerFactory(tenant=other_tenant)
    assert list(Customer.objects.for_tenant(tenant)) == [mine]
    assert list(Customer.objects.filter(tenant=tenant)) == [mine]
    assert Customer.objects.unscoped().count() == 2


def test_related_managers_are_scoped_by_their_parent(tenant):
    vehicle = VehicleFactory(customer=CustomerFactory(tenant=tenant))
    assert list(vehicle.customer.vehicles.all()) == [vehicle]


# Indexes that must work before the tenant is known, and why.
GLOBAL_LOOKUP_INDEXES = {
    "apikey_hashed_key": "an API key is found by its hash; the key then names its tenant",
    "reminder_active_due": "the dispatcher claims due reminders of all tenants in send-time order",
}


def test_every_tenant_owned_model_leads_its_indexes_and_constraints_with_tenant():
    for model in apps.get_models():
        if not issubclass(model, TenantOwned):
            continue
        field = model._meta.get_field("tenant")
        assert not field.null, model
        for index in model._meta.indexes:
            if index.name in GLOBAL_LOOKUP_INDEXES:
                continue
            assert index.fields[0] == "tenant", (model, index.name)
        for constraint in model._meta.constraints:
            if isinstance(constraint, models.UniqueConstraint):
                fields = list(constraint.fields) or [getattr(e, "name", None) for e in constraint.expressions]
                assert "tenant" in fields, (model, constraint.name)


def test_single_membership_becomes_the_active_tenant(owner_client, tenant):
    response = owner_client.get(reverse("customers:list"))
    assert response.status_code == 200
    assert owner_client.session[SESSION_KEY] == tenant.pk


def test_a_forged_session_tenant_is_ignored(owner, tenant, other_tenant, client):
    theirs = CustomerFactory(tenant=other_tenant)
    client.force_login(owner)
    session = client.session
    session[SESSION_KEY] = other_tenant.pk
    session.save()
    assert client.get(reverse("customers:detail", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("customers:list")).context["request"].tenant == tenant


def test_user_with_two_tenants_picks_one_and_cannot_pick_a_foreign_one(client):
    user = UserFactory(email="two@example.test")
    a, b, foreign = (
        TenantFactory(slug="aa-shop"),
        TenantFactory(slug="bb-shop"),
        TenantFactory(slug="cc-shop"),
    )
    MembershipFactory(tenant=a, user=user)
    MembershipFactory(tenant=b, user=user)
    client.force_login(user)
    assert client.get(reverse("customers:list")).url == reverse("tenant_picker")
    assert client.post(reverse("tenant_picker"), {"tenant": foreign.pk}).status_code == 404
    response = client.post(reverse("tenant_picker"), {"tenant": b.pk})
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == b.pk


def test_anonymous_users_are_sent_to_login(client):
    response = client.get(reverse("customers:list"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_demo_style_login_lands_on_today_with_own_tenant(owner, tenant, client):
    response = client.post(reverse("login"), {"username": owner.email, "password": "kizuna-test-pass-1"})
    assert response.status_code == 302
    assert response.url == reverse("today")
    assert client.get(response.url).status_code == 200
    assert client.session[SESSION_KEY] == tenant.pk
