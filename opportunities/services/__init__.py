"""Every write use-case of the opportunities app: the scores (fit, backtest, replacement scores,
leaving risk, `opportunities_refresh`) in `scores`, the weekly list's actions and settings in `worklist`."""

from opportunities.services.scores import (  # noqa: F401
    FIT_EVERY_DAYS,
    FITS_KEPT,
    leaving_risk_refresh,
    opportunities_refresh,
    opportunity_settings_get,
    opportunity_settings_update,
    replacement_enabled,
    replacement_fit,
    replacement_fit_latest,
    replacement_scores_refresh,
)
from opportunities.services.worklist import (  # noqa: F401
    CALL_DUE_DAYS,
    DEAL_CLOSE_DAYS,
    HIT_MONTHS,
    SETTINGS_FIELDS,
    ActionRefused,
    worklist_entry_call_task,
    worklist_entry_deal,
    worklist_entry_dismiss,
    worklist_entry_message,
    worklist_settings_update,
)
