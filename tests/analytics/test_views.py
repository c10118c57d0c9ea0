"""Analytics pages: roles, tenant isolation, CSV downloads, segment export and the segment map editor."""

from datetime import date

import pytest
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from analytics.models import DEFAULT_SEGMENT_MAP, AnalyticsSettings, CustomerRFM
from analytics.selectors import customer_segment_history, customers_in_segment, migration_matrix
from analytics.services import analytics_refresh_tenant, analytics_settings_get, rfm_refresh
from tests.analytics.helpers import build_shop

AS_OF = date(2026, 3, 15)
ROWS = [
    (0, 1500, 50_000, "purchase"),
    (0, 1530, 80_000, "purchase"),
    (1, 1200, 10_000, "purchase"),
    (2, 200, 5_000, "service"),
    (3, 1535, 2_500_000, "purchase"),
    (3, 1536, 2_500_000, "refund"),
]
SECTIONS = ["kpi", "conversion", "migration", "ltv", "demographics"]


@pytest.fixture
def shops(tenant, other_tenant):
    _t, customers, _f = build_shop(5, ROWS, tenant=tenant)
    _o, other_customers, _g = build_shop(3, ROWS, tenant=other_tenant)
    customers[0].family_name = "=cmd|' /C calc'!A0"
    customers[0].save()
    analytics_refresh_tenant(tenant=tenant, as_of=AS_OF)
    analytics_refresh_tenant(tenant=other_tenant, as_of=AS_OF)
    return customers, other_customers


def _url(name):
    return reverse("analytics:index") if name == "overview" else reverse("analytics:section", args=[name])


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["overview", *SECTIONS])
def test_manager_sees_every_section_with_chart_data_and_no_inline_script(manager_client, shops, name):
    response = manager_client.get(_url(name))
    assert response.status_code == 200
    html = response.content.decode()
    assert "vendor/chartjs/chart.umd.min.js" in html and "js/analytics.js" in html
    assert 'type="application/json"' in html
    # Every <script> either loads a file or is JSON data: no inline code.
    for chunk in html.split("<script")[1:]:
        head = chunk.split(">", 1)[0]
        assert "src=" in head or 'type="application/json"' in head


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["overview", "kpi", "conversion"])
def test_viewer_sees_the_shop_overview_sections(viewer_client, shops, name):
    assert viewer_client.get(_url(name)).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["migration", "ltv", "demographics"])
def test_staff_and_viewer_do_not_see_manager_sections(staff_client, viewer_client, shops, name):
    assert staff_client.get(_url(name)).status_code == 404
    assert viewer_client.get(_url(name)).status_code == 404


@pytest.mark.django_db
def test_overview_counts_only_the_active_tenant(manager_client, other_client, shops):
    mine = manager_client.get(reverse("analytics:index")).context["segments"]
    theirs = other_client.get(reverse("analytics:index")).context["segments"]
    assert sum(s["customers"] for s in mine) == 5
    assert sum(s["customers"] for s in theirs) == 3


@pytest.mark.django_db
def test_unknown_section_is_404(manager_client, shops):
    assert manager_client.get("/analytics/nothing/").status_code == 404


@pytest.mark.django_db
def test_table_csv_download_matches_the_table(manager_client, shops):
    response = manager_client.get(
        reverse("analytics:section", args=["kpi"]), {"format": "csv", "table": "kpi_tree"}
    )
    assert response.status_code == 200
    lines = b"".join(response.streaming_content).decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 1 + 36
    assert lines[-1].startswith(timezone.localdate().strftime("%Y-%m,"))
    assert manager_client.get(_url("kpi"), {"format": "csv", "table": "nope"}).status_code == 404


@pytest.mark.django_db
def test_segment_export_is_formula_safe_and_tenant_scoped(manager_client, other_client, shops):
    customers, _other = shops
    segment = CustomerRFM.objects.for_tenant(customers[0].tenant).get(customer=customers[0]).segment
    response = manager_client.get(reverse("analytics:segment_export", args=[segment]))
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "'=cmd|' /C calc'!A0" in body
    assert body.count("\r\n") == 1 + customers_in_segment(tenant=customers[0].tenant, segment=segment).count()

    theirs = other_client.get(reverse("analytics:segment_export", args=[segment]))
    assert "calc" not in b"".join(theirs.streaming_content).decode("utf-8-sig")


@pytest.mark.django_db
def test_segment_export_is_for_managers_only(staff_client, viewer_client, shops):
    url = reverse("analytics:segment_export", args=["loyal"])
    assert staff_client.get(url).status_code == 403
    assert viewer_client.get(url).status_code == 403


@pytest.mark.django_db
def test_manager_edits_the_segment_map_and_the_next_refresh_uses_it(manager_client, tenant, shops):
    new_map = dict.fromkeys(DEFAULT_SEGMENT_MAP, "hibernating")
    new_map["55"] = "champions"
    response = manager_client.post(
        reverse("analytics:segment_map"), {f"cell_{k}": v for k, v in new_map.items()}
    )
    assert response.status_code == 302
    assert analytics_settings_get(tenant=tenant).segment_map == new_map

    rfm_refresh(tenant=tenant, as_of=AS_OF)
    segments = set(CustomerRFM.objects.for_tenant(tenant).values_list("segment", flat=True))
    assert segments <= {"hibernating", "champions", "no_purchase"}


@pytest.mark.django_db
def test_segment_map_with_a_missing_cell_is_rejected(manager_client, tenant, shops):
    cells = {f"cell_{k}": v for k, v in DEFAULT_SEGMENT_MAP.items() if k != "11"}
    response = manager_client.post(reverse("analytics:segment_map"), cells)
    assert response.status_code == 200
    assert response.context["error"]
    assert AnalyticsSettings.objects.for_tenant(tenant).get().segment_map == DEFAULT_SEGMENT_MAP


@pytest.mark.django_db
def test_staff_and_viewer_cannot_edit_the_segment_map(staff_client, viewer_client, tenant, shops):
    cells = {f"cell_{k}": "lost" for k in DEFAULT_SEGMENT_MAP}
    assert viewer_client.post(reverse("analytics:segment_map"), cells).status_code == 403
    assert staff_client.post(reverse("analytics:segment_map"), cells).status_code == 403
    assert staff_client.get(reverse("analytics:segment_map")).status_code == 403
    assert analytics_settings_get(tenant=tenant).segment_map == DEFAULT_SEGMENT_MAP


@pytest.mark.django_db
def test_customers_in_segment_never_crosses_tenants(tenant, other_tenant, shops):
    customers, other_customers = shops
    everyone = set()
    for segment in {r.segment for r in CustomerRFM.objects.for_tenant(tenant)}:
        ids = set(customers_in_segment(tenant=tenant, segment=segment).values_list("pk", flat=True))
        assert not ids & {c.pk for c in other_customers}
        everyone |= ids
    assert everyone == {c.pk for c in customers}
    assert customers_in_segment(tenant=tenant, segment="bogus").count() == 0


@pytest.mark.django_db
def test_segment_history_and_migration_matrix(tenant, shops):
    customers, other_customers = shops
    rfm_refresh(tenant=tenant, as_of=date(2026, 4, 20))  # a second monthly snapshot

    history = customer_segment_history(tenant=tenant, customer_id=customers[0].pk)
    assert [h["month"] for h in history] == [date(2026, 3, 1), date(2026, 4, 1)]
    matrix = migration_matrix(tenant=tenant, from_month=date(2026, 3, 1), to_month=date(2026, 4, 1))
    assert sum(c["customers"] for c in matrix["cells"]) == 5
    with pytest.raises(Http404):
        customer_segment_history(tenant=tenant, customer_id=other_customers[0].pk)


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("analytics:index"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["overview", *SECTIONS])
def test_sections_render_for_a_shop_without_any_data(manager_client, name):
    response = manager_client.get(_url(name))
    assert response.status_code == 200
    # Fixed-shape tables (KPI months, funnel stages, RFM cells, segments) list zeros; the others are empty.
    assert all(
        t["rows"] == [] or name in ("kpi", "overview", "conversion") for t in response.context["tables"]
    )


@pytest.mark.django_db
def test_ltv_page_shows_the_fit_time_as_a_date_and_numbers_grouped(manager_client, tenant, shops):
    from django.utils import translation
    from django.utils.formats import date_format

    from analytics.models import BTYDFit

    fit = BTYDFit.objects.for_tenant(tenant).latest("fitted_at")
    html = manager_client.get(_url("ltv"), HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    with translation.override("ja"):
        shown = date_format(timezone.localtime(fit.fitted_at), "DATETIME_FORMAT")
    assert shown in html
    year = timezone.localtime(fit.fitted_at).year
    assert f"{year // 1000},{year % 1000:03d}" not in html  # humanize's intcomma made "2,026-11-24"


def test_table_cell_formats_by_type():
    from datetime import datetime
    from decimal import Decimal

    from django.utils import translation

    from crm.templatetags.kizuna_ui import table_cell

    with translation.override("en"):
        assert table_cell(1234567) == "1,234,567"
        assert table_cell(Decimal("12345.5")) == "12,345.5"
        assert table_cell("2026-11-24") == "2026-11-24"  # text is left alone
        assert table_cell(date(2026, 11, 24)) == "Nov. 24, 2026"
        assert "2026" in table_cell(datetime(2026, 11, 24, 6, 49))
        assert table_cell(True) is True
