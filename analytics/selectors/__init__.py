"""Every read of the analytics app. Tenant first, keyword-only; plain dicts, lists and querysets.

These functions serve the dashboard pages, the REST API and other apps (customer list filter,
reminder audiences, the Today page). Cross-tenant lookups raise Http404.

One module per subject: `rfm` (scores, segments, snapshots), `kpi_tree`, `cohorts` (conversion and
cohort retention), `ltv` (simple LTV per segment and channel, CAC, BTYD predictions), `demographics`
(and satisfaction), `retention` (車検, 12-month check and service return). Callers import from
`analytics.selectors`.
"""

from analytics.selectors.cohorts import DAYS_PER_MONTH, cohort_retention, conversion_funnel
from analytics.selectors.demographics import AGE_BANDS, demographics, satisfaction_by_topic
from analytics.selectors.kpi_tree import KPI_FIELDS, kpi_cards, kpi_tree
from analytics.selectors.ltv import (
    LIFESPAN_YEARS_MAX,
    LIFESPAN_YEARS_MIN,
    btyd_fit_latest,
    customer_ltv_get,
    expected_lifespan_years,
    ltv_by_channel,
    ltv_by_segment,
    predicted_ltv_summary,
)
from analytics.selectors.retention import (
    retention_by_group,
    retention_computed_at,
    retention_series,
)
from analytics.selectors.rfm import (
    SEGMENT_CODES,
    customer_rfm_get,
    customer_segment_history,
    customers_in_segment,
    migration_matrix,
    rfm_computed_at,
    rfm_grid,
    rfm_rows,
    segment_choices,
    segment_summary,
    snapshot_months,
)

__all__ = [
    "AGE_BANDS",
    "DAYS_PER_MONTH",
    "KPI_FIELDS",
    "LIFESPAN_YEARS_MAX",
    "LIFESPAN_YEARS_MIN",
    "SEGMENT_CODES",
    "btyd_fit_latest",
    "cohort_retention",
    "conversion_funnel",
    "customer_ltv_get",
    "customer_rfm_get",
    "customer_segment_history",
    "customers_in_segment",
    "demographics",
    "expected_lifespan_years",
    "kpi_cards",
    "kpi_tree",
    "ltv_by_channel",
    "ltv_by_segment",
    "migration_matrix",
    "predicted_ltv_summary",
    "retention_by_group",
    "retention_computed_at",
    "retention_series",
    "rfm_computed_at",
    "rfm_grid",
    "rfm_rows",
    "satisfaction_by_topic",
    "segment_choices",
    "segment_summary",
    "snapshot_months",
]
