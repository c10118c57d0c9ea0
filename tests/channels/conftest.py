import pytest
from django.utils import timezone, translation

from channels.models import LineContact
from channels.services import channel_settings_update
from tests.factories import CustomerFactory
from tests.fakes.line_api import FakeLineAPI, line_user_id
from tests.fakes.sms_api import FakeSmsAPI

LINE_TOKEN = "line-access-token-of-shop-a"
SMS_KEY = "sms-api-key-of-shop-a"


@pytest.fixture(autouse=True)
def _english_messages():
    with translation.override("en"):
        yield


@pytest.fixture
def fake_line(settings):
    """The fake LINE API on 127.0.0.1, and the HTTP backend pointed at it."""
    fake = FakeLineAPI(tokens={LINE_TOKEN}).start()
    settings.LINE_BACKEND = "http"
    settings.LINE_API_BASE_URL = fake.url
    settings.LINE_TIMEOUT = 5
    yield fake
    fake.stop()


@pytest.fixture
def fake_sms(settings):
    fake = FakeSmsAPI(keys={SMS_KEY}).start()
    settings.SMS_BACKEND = "http"
    settings.SMS_API_BASE_URL = fake.url
    yield fake
    fake.stop()


@pytest.fixture
def line_shop(tenant):
    """`tenant` with its LINE account set up (token for the fake server) and every channel in use."""
    channel_settings_update(
        tenant=tenant,
        channel_order="line,email,sms,postcard",
        line_channel_id="1650000000",
        line_channel_secret="line-channel-secret-a",
        line_access_token=LINE_TOKEN,
        sms_sender_id="ShopA",
        sms_api_key=SMS_KEY,
    )
    return tenant


@pytest.fixture
def follower():
    """Make a customer of a tenant who follows the shop's LINE account (linked LINE contact)."""

    def make(tenant, n=None, **fields):
        customer = CustomerFactory(tenant=tenant, **fields)
        LineContact.objects.create(
            tenant=tenant,
            customer=customer,
            line_user_id=line_user_id(f"{tenant.pk}-{customer.pk}" if n is None else n),
            following=True,
            followed_at=timezone.now(),
            linked_at=timezone.now(),
        )
        return customer

    return make
