"""The LINE fault drills' set-up: the workers they start can read the shop's LINE credentials.

The drill process stores the credentials (encrypted at rest) and the worker processes decrypt them.
When SECRET_KEY was not in the environment the two sides derived different keys and every push of a
full drill failed "cannot be decrypted" (the slim drills set SECRET_KEY through pytest, so they hid it).
"""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.test.utils import override_settings

from benchmarks.faults.harness import LineSink, Timing, add_line_contacts, process_env
from channels.models import LineContact
from channels.selectors import line_credentials
from customers.models import Customer

pytestmark = pytest.mark.django_db


def test_worker_environment_decrypts_the_credentials_the_drill_stored(tenant):
    Customer.objects.for_tenant(tenant).create(tenant=tenant, family_name="山田", given_name="一郎")
    Customer.objects.for_tenant(tenant).create(tenant=tenant, family_name="山田", given_name="二郎")
    key = Fernet.generate_key().decode()

    with override_settings(SECRET_KEY="the-drill-process-key-" + "x" * 40):
        add_line_contacts(tenant, encryption_key=key)
    env = process_env(
        broker_url="redis://127.0.0.1:1/0",
        smtp_port=0,
        timing=Timing(),
        line_url="http://127.0.0.1:1",
        encryption_key=key,
    )

    # The worker: another SECRET_KEY, the key from its environment.
    with override_settings(
        SECRET_KEY="a-different-worker-key-" + "y" * 40, CHANNELS_ENCRYPTION_KEY=env["CHANNELS_ENCRYPTION_KEY"]
    ):
        credentials = line_credentials(tenant_id=tenant.pk)
    assert credentials.access_token == LineSink.TOKEN
    assert env["LINE_BACKEND"] == "http"
    assert LineContact.objects.for_tenant(tenant).filter(following=True).count() == 2
