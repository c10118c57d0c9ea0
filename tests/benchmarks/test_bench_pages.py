"""The page-timing command renders every main page for a tenant and prints one row per page."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from tests.factories import CustomerFactory, DealFactory, VehicleFactory

pytestmark = pytest.mark.django_db


def test_bench_pages_reports_every_page(benchmark_apps, tenant, owner):
    customer = CustomerFactory(tenant=tenant)
    VehicleFactory(customer=customer)
    DealFactory(customer=customer)
    out = io.StringIO()
    call_command("bench_pages", tenant=tenant.slug, runs=2, stdout=out)
    rows = [line for line in out.getvalue().splitlines() if line.startswith("| ") and "median" not in line]
    assert len(rows) == 14
    assert rows[0].startswith("| Today | ")
