"""RFM scores and segments against an independent pandas reference on random histories."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.models import DEFAULT_SEGMENT_MAP, CustomerRFM, SegmentSnapshot
from analytics.services import analytics_settings_update, rfm_refresh
from tests.analytics.helpers import AS_OF, build_shop, history, plain, reference_rfm

HYPOTHESIS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.mark.django_db
@HYPOTHESIS
@given(
    shop=history,
    noise=history,
    source=st.sampled_from(["purchases", "services", "both"]),
    window=st.sampled_from([12, 36]),
)
def test_rfm_matches_pandas_reference(shop, noise, source, window):
    """Scores, recency, frequency, monetary and segments equal the pandas reference.

    Another tenant with its own random history exists at the same time: its rows must never count.
    """
    tenant, customers, frame = build_shop(*shop)
    build_shop(*noise)  # another tenant's rows must never count
    analytics_settings_update(tenant=tenant, source=source, window_months=window)

    written = rfm_refresh(tenant=tenant, as_of=AS_OF)

    ids = [c.pk for c in customers]
    ref = reference_rfm(
        frame, ids, as_of=AS_OF, window_months=window, source=source, segment_map=DEFAULT_SEGMENT_MAP
    )
    assert written == len(ids)
    rows = {r.customer_id: r for r in CustomerRFM.objects.for_tenant(tenant)}
    assert set(rows) == set(ids)
    for cid in ids:
        got, want = rows[cid], {k: plain(v) for k, v in ref.loc[cid].items()}
        assert got.frequency == want["frequency"], cid
        assert got.monetary == want["monetary"]
        assert got.recency_days == want["recency_days"]
        assert got.average == want["average"]
        assert got.revenue_to_date == want["revenue_to_date"]
        assert (got.r_score, got.f_score, got.m_score) == (want["r_score"], want["f_score"], want["m_score"])
        assert got.segment == want["segment"]
        assert got.as_of == AS_OF
    assert SegmentSnapshot.objects.for_tenant(tenant).filter(month=AS_OF.replace(day=1)).count() == len(ids)


def test_default_segment_map_covers_every_cell_once():
    cells = [f"{r}{f}" for r in range(1, 6) for f in range(1, 6)]
    assert sorted(DEFAULT_SEGMENT_MAP) == cells
    assert len(set(DEFAULT_SEGMENT_MAP.values())) == 11  # every named segment is reachable
