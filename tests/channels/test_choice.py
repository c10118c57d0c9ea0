"""Channel choice: which channels each customer can receive, in preference order, set-based."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.models import ChannelConsent, CustomerChannelPreference, LineContact, MessageChannel
from channels.selectors import channels_for_customers, choose_channel, is_mobile_number, mobile_e164
from channels.services import channel_consent_set, channel_settings_update
from tests.factories import CustomerFactory
from tests.fakes.line_api import line_user_id


def test_a_shop_without_settings_keeps_todays_email_behaviour(tenant):
    # Given customers of a shop that never saved channel settings
    opted_in = CustomerFactory(tenant=tenant, consent="opted_in", consent_at=timezone.now())
    unknown = CustomerFactory(tenant=tenant)  # has a postal address, never asked
    # Then only e-mail opt-ins are reachable: postcards are off until the shop turns them on
    got = channels_for_customers(tenant_id=tenant.pk, customer_ids=[opted_in.pk, unknown.pk])
    assert got == {opted_in.pk: ["email"], unknown.pk: []}


def test_order_and_receivability_per_channel(tenant, follower):
    channel_settings_update(tenant=tenant, channel_order="line,email,sms,postcard")
    both = follower(tenant, consent="opted_in", consent_at=timezone.now())
    sms = CustomerFactory(tenant=tenant, phone="080-1111-2222")
    channel_consent_set(tenant=tenant, customer=sms, channel="sms", status="opted_in", source="form")
    landline = CustomerFactory(tenant=tenant, phone="03-1111-2222")
    channel_consent_set(tenant=tenant, customer=landline, channel="sms", status="opted_in", source="form")
    no_address = CustomerFactory(tenant=tenant, postal_code="", address="")
    refused = CustomerFactory(tenant=tenant)
    channel_consent_set(
        tenant=tenant, customer=refused, channel="postcard", status="opted_out", source="phone"
    )
    ids = [both.pk, sms.pk, landline.pk, no_address.pk, refused.pk]

    got = channels_for_customers(tenant_id=tenant.pk, customer_ids=ids)

    assert got[both.pk] == ["line", "email", "postcard"]
    assert got[sms.pk] == ["sms", "postcard"]
    assert got[landline.pk] == ["postcard"]  # an SMS cannot reach a landline
    assert got[no_address.pk] == []
    assert got[refused.pk] == []


def test_unfollow_and_opt_out_remove_the_channel(tenant, follower):
    channel_settings_update(tenant=tenant, channel_order="line,email")
    c = follower(tenant, consent="opted_out", consent_at=timezone.now())
    LineContact.objects.for_tenant(tenant).filter(customer=c).update(following=False)
    assert channels_for_customers(tenant_id=tenant.pk, customer_ids=[c.pk]) == {c.pk: []}


def test_customer_override_reorders_but_never_adds_an_unused_channel(tenant, follower):
    channel_settings_update(tenant=tenant, channel_order="line,email")
    c = follower(tenant, consent="opted_in", consent_at=timezone.now())
    CustomerChannelPreference.objects.create(tenant=tenant, customer=c, channel_order="postcard,email,line")
    assert channels_for_customers(tenant_id=tenant.pk, customer_ids=[c.pk]) == {c.pk: ["email", "line"]}


def test_constant_number_of_queries(tenant, follower):
    channel_settings_update(tenant=tenant, channel_order="line,email,sms,postcard")
    ids = [follower(tenant).pk for _ in range(3)]
    with CaptureQueriesContext(connection) as few:
        channels_for_customers(tenant_id=tenant.pk, customer_ids=ids)
    ids += [follower(tenant).pk for _ in range(20)]
    with CaptureQueriesContext(connection) as many:
        channels_for_customers(tenant_id=tenant.pk, customer_ids=ids)
    assert len(few) == len(many) == 5


def test_other_tenants_customers_get_nothing(tenant, other_tenant, follower):
    theirs = follower(other_tenant, consent="opted_in", consent_at=timezone.now())
    assert channels_for_customers(tenant_id=tenant.pk, customer_ids=[theirs.pk]) == {theirs.pk: []}


def test_choose_channel_respects_the_rule():
    assert choose_channel(["line", "email"], None) == "line"
    assert choose_channel(["line", "email"], ["email", "postcard"]) == "email"
    assert choose_channel(["line"], ["postcard"]) is None
    assert choose_channel([], None) is None


def test_mobile_numbers():
    assert is_mobile_number("090-1234-5678") and is_mobile_number("+81 80 1234 5678")
    assert not is_mobile_number("03-1234-5678") and not is_mobile_number("")
    assert mobile_e164("070-1234-5678") == "+817012345678"


CHANNELS = list(MessageChannel.values)
orders = st.lists(st.sampled_from(CHANNELS), unique=True, max_size=4)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    shop_order=orders,
    override=st.one_of(st.none(), orders),
    email=st.sampled_from(["none", "in", "out", "in-no-address"]),
    line=st.sampled_from(["none", "following", "blocked"]),
    sms=st.sampled_from(["none", "in", "out", "in-landline"]),
    postcard=st.sampled_from(["address", "refused", "no-address"]),
)
def test_property_receivable_matches_the_definitions(
    tenant, shop_order, override, email, line, sms, postcard
):
    """Over random combinations: the receivable list is exactly the shop/customer order filtered by the
    per-channel definitions (the dispatcher's property test builds on this one, see tests/reminders)."""
    channel_settings_update(tenant=tenant, channel_order=",".join(shop_order))
    c = CustomerFactory(
        tenant=tenant,
        email="" if email == "in-no-address" else "x@example.jp",
        consent={"none": "unknown", "out": "opted_out"}.get(email, "opted_in"),
        consent_at=timezone.now(),
        phone="03-1111-2222" if sms == "in-landline" else "090-1111-2222",
        postal_code="" if postcard == "no-address" else "150-0001",
    )
    if line != "none":
        LineContact.objects.create(
            tenant=tenant, customer=c, line_user_id=line_user_id(c.pk), following=line == "following"
        )
    if sms != "none":
        ChannelConsent.objects.create(
            tenant=tenant,
            customer=c,
            channel="sms",
            status="opted_out" if sms == "out" else "opted_in",
            recorded_at=timezone.now(),
        )
    if postcard == "refused":
        ChannelConsent.objects.create(
            tenant=tenant, customer=c, channel="postcard", status="opted_out", recorded_at=timezone.now()
        )
    if override is not None:
        CustomerChannelPreference.objects.create(tenant=tenant, customer=c, channel_order=",".join(override))
    can = {
        "email": email == "in",
        "line": line == "following",
        "sms": sms == "in",
        "postcard": postcard == "address",
    }
    order = shop_order if override is None else [ch for ch in override if ch in shop_order]
    expected = [ch for ch in order if can[ch]]
    assert channels_for_customers(tenant_id=tenant.pk, customer_ids=[c.pk]) == {c.pk: expected}
