"""Every write of the opportunities scores: settings, the replacement fit and backtest, the scores,
the leaving risk, and `opportunities_refresh`, which does what is due (the nightly task and the weekly
list call it)."""

from __future__ import annotations

import time
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from crm.models import Tenant
from customers.models import Purchase
from opportunities.backtest import FitResult, fit_and_backtest, latest_bgnbd
from opportunities.features import VEHICLE_SALE_CODES, History, load_history
from opportunities.leaving import leaving_risk_write, snapshot_p_alive
from opportunities.models import OpportunitySettings, ReplacementFit, VehicleReplacementScore
from opportunities.scoring import replacement_scores_write, vehicle_sale_margin

# The model is refitted when its fit is older than this (or its history is, after a backfill).
FIT_EVERY_DAYS = 7
FITS_KEPT = 12


def opportunity_settings_get(*, tenant: Tenant) -> OpportunitySettings:
    """The shop's settings, created with the defaults on first use."""
    obj, _ = OpportunitySettings.objects.for_tenant(tenant).get_or_create(tenant=tenant)
    return obj


@transaction.atomic
def opportunity_settings_update(*, tenant: Tenant, **fields) -> OpportunitySettings:
    """Change the shop's settings; validated before saving (a bad value changes nothing)."""
    obj = opportunity_settings_get(tenant=tenant)
    for name, value in fields.items():
        setattr(obj, name, value)
    obj.full_clean()
    obj.save()
    return obj


def replacement_enabled(*, tenant: Tenant, conf: OpportunitySettings | None = None) -> bool:
    """On when the shop says so; by default (automatic) when it sells vehicles, i.e. for a dealer."""
    conf = conf or opportunity_settings_get(tenant=tenant)
    if conf.replacement_enabled is not None:
        return conf.replacement_enabled
    return Purchase.objects.for_tenant(tenant).filter(category__code__in=VEHICLE_SALE_CODES).exists()


def _store_fit(*, tenant: Tenant, as_of: date, result: FitResult) -> ReplacementFit:
    fit = ReplacementFit(
        tenant=tenant,
        fitted_at=timezone.now(),
        as_of=as_of,
        method=result.method,
        events=result.events,
        periods=result.periods,
        params=result.params,
        seconds=round(result.seconds, 3),
        cut_date=result.cut_date,
        backtest_method=result.backtest_method,
        test_vehicles=result.test_vehicles,
        test_events=result.test_events,
        auc=result.auc,
        calibration=result.calibration,
        hit_listed=result.hit_listed,
        hit_replaced=result.hit_replaced,
        hit_by_staff=result.hit_by_staff,
    )
    fit.full_clean()
    fit.save()
    stale = ReplacementFit.objects.for_tenant(tenant).order_by("-fitted_at").values_list("pk", flat=True)
    ReplacementFit.objects.for_tenant(tenant).filter(pk__in=list(stale[FITS_KEPT:])).delete()
    return fit


@transaction.atomic
def replacement_fit(
    *, tenant: Tenant, as_of: date | None = None, history: History | None = None
) -> ReplacementFit:
    """Learn the shop's replacement model (or settle on the rules) and backtest it; stored for scoring
    and the validation page."""
    as_of = as_of or timezone.localdate()
    result = fit_and_backtest(tenant=tenant, as_of=as_of, history=history)
    return _store_fit(tenant=tenant, as_of=as_of, result=result)


def replacement_fit_latest(*, tenant: Tenant) -> ReplacementFit | None:
    return ReplacementFit.objects.for_tenant(tenant).order_by("-fitted_at", "-pk").first()


@transaction.atomic
def replacement_scores_refresh(
    *,
    tenant: Tenant,
    as_of: date | None = None,
    fit: ReplacementFit | None = None,
) -> int:
    """Score every owned vehicle of the shop with its latest fit; returns the vehicles scored.

    The features always come from the live history (`load_history(windows=0)`), also on the nights the
    model is refitted: the fit's longer history would clip old mileage readings differently, and a score
    must not depend on whether it was computed on a fit night. A shop with replacement propensity off
    has no scores (its old ones are removed)."""
    as_of = as_of or timezone.localdate()
    conf = opportunity_settings_get(tenant=tenant)
    if not replacement_enabled(tenant=tenant, conf=conf):
        VehicleReplacementScore.objects.for_tenant(tenant).delete()
        return 0
    fit = fit or replacement_fit_latest(tenant=tenant) or replacement_fit(tenant=tenant, as_of=as_of)
    history = load_history(tenant_id=tenant.pk, as_of=as_of, windows=0, bgnbd=latest_bgnbd(tenant))
    margin = vehicle_sale_margin(tenant=tenant, as_of=as_of, override=conf.replacement_margin)
    return replacement_scores_write(
        tenant=tenant, h=history, method=fit.method, params=fit.params, margin=margin
    )


@transaction.atomic
def leaving_risk_refresh(*, tenant: Tenant, as_of: date | None = None) -> int:
    """This month's P(alive) snapshot, then the shop's leaving-risk rows; returns the customers listed."""
    as_of = as_of or timezone.localdate()
    conf = opportunity_settings_get(tenant=tenant)
    snapshot_p_alive(tenant=tenant, as_of=as_of)
    return leaving_risk_write(
        tenant=tenant, as_of=as_of, top_deciles=conf.leaving_top_deciles, segments=list(conf.leaving_segments)
    )


def _fit_is_due(fit: ReplacementFit | None, as_of: date) -> bool:
    if fit is None:
        return True
    return fit.as_of > as_of or (timezone.now() - fit.fitted_at) >= timedelta(days=FIT_EVERY_DAYS)


@transaction.atomic
def opportunities_refresh(*, tenant: Tenant, as_of: date | None = None, force_fit: bool = False) -> dict:
    """Bring the shop's scores up to date: refit when due (weekly), score the vehicles, list the
    customers about to leave. Safe to run twice. Returns what it did, with seconds per step."""
    as_of = as_of or timezone.localdate()
    started = time.perf_counter()
    result: dict = {"fitted": False}
    enabled = replacement_enabled(tenant=tenant)
    fit = replacement_fit_latest(tenant=tenant)
    if enabled and (force_fit or _fit_is_due(fit, as_of)):
        fit = replacement_fit(tenant=tenant, as_of=as_of)
        result.update(fitted=True, fit_seconds=round(time.perf_counter() - started, 3))
    if fit is not None:
        result["method"] = fit.method
    mark = time.perf_counter()
    result["vehicles_scored"] = replacement_scores_refresh(tenant=tenant, as_of=as_of, fit=fit)
    result["score_seconds"] = round(time.perf_counter() - mark, 3)
    mark = time.perf_counter()
    result["leaving_risks"] = leaving_risk_refresh(tenant=tenant, as_of=as_of)
    result["leaving_seconds"] = round(time.perf_counter() - mark, 3)
    return result
