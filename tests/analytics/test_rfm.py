"""RFM scores and segments against an independent pandas reference on random histories."""

from datetime import date, timedelta

import pandas as pd
import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.models import DEFAULT_SEGMENT_MAP, CustomerRFM, SegmentSnapshot, validate_segment_map
from analytics.services import analytics_settings_update, rfm_refresh
from customers.models import Customer, Purchase, PurchaseCategory
from tests.analytics.helpers import AS_OF, BASE, build_shop, history, plain, reference_rfm, transaction

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


@pytest.mark.django_db
def test_identical_customers_get_identical_scores_whatever_the_row_order(tenant):
    """Six customers with the same single purchase and one big spender: ties are never split."""
    rows = [(i, 1500, 10_000, "purchase") for i in range(6)] + [(6, 1530, 90_000, "purchase")]
    _t, customers, _frame = build_shop(8, rows[::-1], tenant=tenant)  # reversed insertion order

    rfm_refresh(tenant=tenant, as_of=AS_OF)

    by_id = {r.customer_id: r for r in CustomerRFM.objects.for_tenant(tenant)}
    tied = {(by_id[c.pk].r_score, by_id[c.pk].f_score, by_id[c.pk].m_score) for c in customers[:6]}
    assert tied == {(1, 1, 1)}
    assert (by_id[customers[6].pk].r_score, by_id[customers[6].pk].m_score) == (5, 5)
    assert by_id[customers[6].pk].segment == "new"  # R5 F1
    assert by_id[customers[7].pk].segment == "no_purchase" and by_id[customers[7].pk].r_score is None


@pytest.mark.django_db
def test_refund_only_day_is_not_a_transaction_day_but_reduces_monetary(tenant):
    rows = [(0, 1400, 50_000, "purchase"), (0, 1500, 20_000, "refund"), (1, 1500, 30_000, "refund")]
    _t, customers, _frame = build_shop(2, rows, tenant=tenant)

    rfm_refresh(tenant=tenant, as_of=AS_OF)

    first = CustomerRFM.objects.for_tenant(tenant).get(customer=customers[0])
    assert (first.frequency, first.monetary, first.average) == (1, 30_000, 30_000)
    assert first.last_transaction == date(2025, 11, 1)  # the purchase, not the later refund
    refund_only = CustomerRFM.objects.for_tenant(tenant).get(customer=customers[1])
    assert (refund_only.segment, refund_only.frequency, refund_only.monetary) == ("no_purchase", 0, -30_000)


@pytest.mark.parametrize(
    "change",
    [
        lambda m: m.pop("11"),
        lambda m: m.update({"66": "lost"}),
        lambda m: m.update({"11": "no_purchase"}),
        lambda m: m.update({"11": "vip"}),
    ],
)
def test_segment_map_validation_rejects_gaps_extras_and_unknown_segments(change):
    broken = dict(DEFAULT_SEGMENT_MAP)
    change(broken)
    with pytest.raises(ValidationError):
        validate_segment_map(broken)
    validate_segment_map(dict(DEFAULT_SEGMENT_MAP))  # the default passes


@pytest.mark.django_db
@HYPOTHESIS
@given(shop=history, later=st.lists(transaction, max_size=15), drop=st.booleans())
def test_second_refresh_writes_only_changes_and_matches_the_reference(shop, later, drop):
    """A refresh over a changed history (new rows, a new and a deleted customer, a later as-of) ends
    with exactly the rows a first refresh would write, and the month's snapshot equals the segments."""
    tenant, customers, frame = build_shop(*shop)
    first_as_of = AS_OF.replace(day=2)
    rfm_refresh(tenant=tenant, as_of=first_as_of)
    before = {r.customer_id: r for r in CustomerRFM.objects.for_tenant(tenant)}

    category = PurchaseCategory.objects.for_tenant(tenant).get(code="parts")
    customers = [*customers, Customer.objects.create(tenant=tenant, family_name="新規")]
    extra = []
    for idx, offset, amount, kind in later:
        if kind == "service" or idx >= len(customers):
            continue
        signed = -amount if kind == "refund" else amount
        day = BASE + timedelta(days=offset)
        extra.append(
            Purchase(
                tenant=tenant,
                customer=customers[idx],
                date=day,
                category=category,
                amount=signed,
                is_refund=kind == "refund",
                gross_profit=signed // 4,
            )
        )
        frame.loc[len(frame)] = [
            customers[idx].pk,
            pd.Timestamp(day),
            signed,
            signed // 4,
            kind == "refund",
            "purchases",
        ]
    Purchase.objects.bulk_create(extra)
    if drop and len(customers) > 1:
        gone = customers.pop(0)
        gone.delete()  # cascades to its analytics rows
        frame = frame[frame["customer_id"] != gone.pk]

    rfm_refresh(tenant=tenant, as_of=AS_OF)

    ids = [c.pk for c in customers]
    ref = reference_rfm(
        frame, ids, as_of=AS_OF, window_months=36, source="both", segment_map=DEFAULT_SEGMENT_MAP
    )
    rows = {r.customer_id: r for r in CustomerRFM.objects.for_tenant(tenant)}
    assert set(rows) == set(ids)
    for cid in ids:
        got, want = rows[cid], {k: plain(v) for k, v in ref.loc[cid].items()}
        assert (got.frequency, got.monetary, got.recency_days, got.average) == (
            want["frequency"],
            want["monetary"],
            want["recency_days"],
            want["average"],
        )
        assert (got.r_score, got.f_score, got.m_score, got.segment) == (
            want["r_score"],
            want["f_score"],
            want["m_score"],
            want["segment"],
        )
        assert got.revenue_to_date == want["revenue_to_date"] and got.as_of == AS_OF
        if cid in before:
            assert got.pk == before[cid].pk  # updated in place, not deleted and re-inserted
    snapshot = dict(
        SegmentSnapshot.objects.for_tenant(tenant)
        .filter(month=AS_OF.replace(day=1))
        .values_list("customer_id", "segment")
    )
    assert snapshot == {cid: rows[cid].segment for cid in ids}


@pytest.mark.django_db
def test_refresh_again_the_same_day_rewrites_nothing(tenant):
    build_shop(4, [(0, 1500, 50_000, "purchase"), (1, 1200, 10_000, "purchase")], tenant=tenant)
    rfm_refresh(tenant=tenant, as_of=AS_OF)
    stamps = dict(CustomerRFM.objects.for_tenant(tenant).values_list("customer_id", "computed_at"))

    rfm_refresh(tenant=tenant, as_of=AS_OF)

    assert dict(CustomerRFM.objects.for_tenant(tenant).values_list("customer_id", "computed_at")) == stamps
