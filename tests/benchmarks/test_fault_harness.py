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
from benchmarks.management.commands.fault_drill import summary
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
        SECRET_KEY="a-different-worker-key-" + "y" * 40,
        CHANNELS_ENCRYPTION_KEY=env["CHANNELS_ENCRYPTION_KEY"],
    ):
        credentials = line_credentials(tenant_id=tenant.pk)
    assert credentials.access_token == LineSink.TOKEN
    assert env["LINE_BACKEND"] == "http"
    assert LineContact.objects.for_tenant(tenant).filter(following=True).count() == 2


def test_summary_of_a_line_provider_outage_names_the_line_api():
    """The LINE provider-down drill is named "line-down"; its summary once raised KeyError after the run."""
    result = {
        "scenario": "line-down",
        "channel": "line",
        "outage": "5xx",
        "rows": 1000,
        "received_unique": 1000,
        "lost": 0,
        "duplicates": 0,
        "statuses": {"sent": 1000},
        "drained": True,
        "duplicate_rows": 0,
        "total_s": 943.1,
        "load_before": "4.46",
        "load_after": "5.19",
        "down_s": 600.0,
        "retry_delays_s": {"1->2": {"n": 888, "median": 64.5, "max": 121.0}},
        "retry_cap_s": 1800,
        "drain_after_recovery_s": 334.1,
    }

    text = summary(result)

    assert text.startswith("OK — line-down: 1000 rows, 1000 received, lost 0, duplicates 0")
    assert "LINE API down 600.0 s (5xx); retry delays" in text
    assert "drained 334.1 s after recovery" in text
