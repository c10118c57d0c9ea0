"""On-demand and nightly refresh: the command, the beat task and its per-tenant fan-out."""

from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from analytics import tasks
from analytics.models import BTYDFit, CustomerLTV, CustomerRFM, MonthlyKPI, SegmentSnapshot
from tests.analytics.helpers import build_shop
from tests.crm.test_rls import app_role, as_app  # noqa: F401 -- fixtures: connect as the application role

ROWS = [(0, 1500, 50_000, "purchase"), (1, 1200, 10_000, "purchase")]


@pytest.mark.django_db
def test_compute_analytics_for_one_tenant_as_of_a_date(tenant, other_tenant):
    build_shop(3, ROWS, tenant=tenant)
    build_shop(2, ROWS, tenant=other_tenant)
    out = StringIO()

    call_command("compute_analytics", "--tenant", tenant.slug, "--as-of", "2026-03-15", stdout=out)

    assert "shop-a: rfm_rows=3" in out.getvalue()
    assert set(CustomerRFM.objects.for_tenant(tenant).values_list("as_of", flat=True)) == {date(2026, 3, 15)}
    assert SegmentSnapshot.objects.for_tenant(tenant).filter(month=date(2026, 3, 1)).count() == 3
    assert MonthlyKPI.objects.for_tenant(tenant).exists()
    assert BTYDFit.objects.for_tenant(tenant).count() == 1
    assert not CustomerRFM.objects.for_tenant(other_tenant).exists()


@pytest.mark.django_db
def test_compute_analytics_is_idempotent(tenant):
    build_shop(3, ROWS, tenant=tenant)
    call_command(
        "compute_analytics", "--tenant", tenant.slug, "--as-of", "2026-03-15", "--no-fit", stdout=StringIO()
    )
    first = list(
        CustomerRFM.objects.for_tenant(tenant).order_by("customer_id").values_list("segment", "frequency")
    )
    call_command(
        "compute_analytics", "--tenant", tenant.slug, "--as-of", "2026-03-15", "--no-fit", stdout=StringIO()
    )
    again = list(
        CustomerRFM.objects.for_tenant(tenant).order_by("customer_id").values_list("segment", "frequency")
    )
    assert first == again and len(again) == 3
    assert SegmentSnapshot.objects.for_tenant(tenant).count() == 3


@pytest.mark.django_db
def test_compute_analytics_unknown_tenant(db):
    with pytest.raises(CommandError):
        call_command("compute_analytics", "--tenant", "nope", stdout=StringIO())


@pytest.mark.django_db
def test_nightly_task_fans_out_one_refresh_per_tenant(tenant, other_tenant, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from crm.celery import app

    app.conf.task_always_eager = True
    try:
        build_shop(3, ROWS, tenant=tenant)
        build_shop(2, ROWS, tenant=other_tenant)
        assert tasks.refresh_all_tenants() == 2
    finally:
        app.conf.task_always_eager = False
    assert CustomerRFM.objects.for_tenant(tenant).count() == 3
    assert CustomerRFM.objects.for_tenant(other_tenant).count() == 2


def test_beat_schedule_names_the_task():
    from django.conf import settings

    names = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert tasks.refresh_all_tenants.name in names


@pytest.mark.postgres
def test_full_refresh_as_the_application_role_under_row_level_security(as_app, transactional_db):  # noqa: F811
    """compute_analytics (RFM with its temporary table, snapshot, KPIs, BTYD fit with COPY) as the
    role row-level security applies to: each tenant's rows are written, none cross tenants."""
    from tests.analytics.test_btyd import _simulated_rows

    a, _ca, _fa = build_shop(90, _simulated_rows(90, seed=11))
    b, _cb, _fb = build_shop(70, _simulated_rows(70, seed=12))

    with as_app():
        call_command("compute_analytics", "--as-of", "2026-03-01", stdout=StringIO())

    for shop, n in ((a, 90), (b, 70)):
        assert CustomerRFM.objects.for_tenant(shop).count() == n
        assert SegmentSnapshot.objects.for_tenant(shop).filter(month=date(2026, 3, 1)).count() == n
        assert MonthlyKPI.objects.for_tenant(shop).exists()
        fit = BTYDFit.objects.for_tenant(shop).get()
        assert fit.status == "ok"
        assert CustomerLTV.objects.for_tenant(shop).count() == fit.n_customers
        assert not CustomerRFM.objects.for_tenant(shop).exclude(customer__tenant=shop).exists()
        assert not CustomerLTV.objects.for_tenant(shop).exclude(customer__tenant=shop).exists()
