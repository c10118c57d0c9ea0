"""Schemathesis against the live OpenAPI schema: no server errors, every answer matches the schema.

Runs in-process through the WSGI app with a write key of a seeded tenant; the number of examples per
operation is bounded so the whole run takes a couple of minutes.
"""

from __future__ import annotations

import hypothesis
import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import checks

from crm.api.keys import api_key_create
from crm.wsgi import application
from tests.factories import (
    CallTaskFactory,
    CustomerFactory,
    DealFactory,
    InteractionFactory,
    PurchaseFactory,
    ServiceRecordFactory,
    TenantFactory,
    UserFactory,
    VehicleFactory,
)

MAX_EXAMPLES = 15
pytestmark = pytest.mark.django_db


# Loaded at collection through the WSGI app (schema generation needs no database). Schemathesis'
# lazy `from_fixture` loader does not run under pytest 9.
schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
# Bounded run: hypothesis-generated examples only (the exhaustive "coverage" phase alone would take
# many minutes over ~80 operations).
schema.config.phases.coverage.enabled = False


@pytest.fixture
def keep_test_connection():
    """Requests go through the real WSGI handler, whose end-of-request hook closes the database
    connection; the test's transaction lives on that connection (Django's test client unhooks it too)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def seeded_key(db, keep_test_connection):
    tenant = TenantFactory(slug="fuzz-shop")
    owner = UserFactory(email="owner@fuzz.test")
    from crm.tenancy.services import membership_create

    membership_create(tenant=tenant, user=owner, role="owner")
    customer = CustomerFactory(tenant=tenant, external_ref="C-1")
    vehicle = VehicleFactory(customer=customer, external_ref="V-1")
    PurchaseFactory(customer=customer, external_ref="P-1")
    ServiceRecordFactory(vehicle=vehicle, external_ref="S-1")
    InteractionFactory(customer=customer)
    DealFactory(customer=customer)
    CallTaskFactory(customer=customer)
    _key, raw = api_key_create(tenant=tenant, name="fuzz", scope="write", created_by=owner)
    return raw


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_api_conforms_to_its_schema(case, seeded_key, settings):
    settings.KIZUNA_API_RATE = "100000/min"
    case.call_and_validate(
        headers={"Authorization": f"Bearer {seeded_key}"},
        # Random ids and codes name rows that do not exist, so a schema-valid body is rightly a 400;
        # and django-filter ignores blank query values by design. Everything else is checked.
        excluded_checks=[checks.positive_data_acceptance, checks.negative_data_rejection],
    )


# Stateful: schemathesis infers links between operations (a POST's `id` feeds the GET/PATCH/DELETE of
# that id, list results feed detail calls), so sequences such as create → update → delete → read run.
STATEFUL_EXAMPLES = 12
STATEFUL_STEPS = 6


def test_api_stateful_sequences(seeded_key, settings):
    settings.KIZUNA_API_RATE = "100000/min"
    headers = {"Authorization": f"Bearer {seeded_key}"}
    base = schema.as_state_machine()

    class Workflow(base):
        def get_call_kwargs(self, case):
            return {"headers": headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(
                response,
                excluded_checks=[
                    checks.positive_data_acceptance,
                    checks.negative_data_rejection,
                    # Every call carries the valid key above; the random session cookie schemathesis adds
                    # for the cookie scheme is rightly ignored then (key auth: test_auth_and_permissions).
                    checks.ignored_auth,
                ],
                transport_kwargs=kwargs or None,
            )

    Workflow.run(
        settings=hypothesis.settings(
            max_examples=STATEFUL_EXAMPLES,
            stateful_step_count=STATEFUL_STEPS,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )
