"""Buy-till-you-die models implemented from the papers with numpy/scipy (time unit: weeks).

* BG/NBD: Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way: An Alternative to the
  Pareto/NBD Model", Marketing Science 24(2) — likelihood eq. (6), conditional expectation eq. (10),
  P(alive) from Fader, Hardie & Lee's note "Computing P(alive) using the BG/NBD model".
* Gamma-Gamma spend model: Fader, Hardie & Lee (2005), "RFM and CLV: Using Iso-Value Curves for
  Customer Base Analysis", JMR 42(4), and Fader & Hardie's note "The Gamma-Gamma Model of Monetary Value".

Inputs per customer: x = repeat transactions (transaction days − 1), t_x = time of the last one and
T = time since the first one (both in weeks), m = average value of the repeat transactions.
The `lifetimes` package implements the same, but is unmaintained; tests validate these functions
against the published CDNOW estimates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import digamma, gammaln, hyp2f1


@dataclass(frozen=True)
class BGNBD:
    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class GammaGamma:
    p: float
    q: float
    gamma: float


def bgnbd_log_likelihood(params, x, t_x, T) -> np.ndarray:
    """Per-customer log-likelihood, eq. (6) of the BG/NBD paper, computed in log space."""
    r, alpha, a, b = params
    x = np.asarray(x, dtype=float)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    a4 = np.full_like(x, -np.inf)
    a4[repeat] = (
        np.log(a)
        - np.log(b + x[repeat] - 1)
        - (r + x[repeat]) * np.log(alpha + np.asarray(t_x, float)[repeat])
    )
    return a1 + a2 + np.logaddexp(a3, a4)


# Parameters are searched in log space inside e^-12 … e^12: wide enough for any real customer base,
# and it keeps a degenerate data set (nobody ever drops out, so a, b → ∞) from wandering off to overflow.
LOG_BOUNDS = (-12.0, 12.0)


def compress(*columns) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Distinct rows of the given equal-length columns, their counts, and each input row's index.

    The likelihoods are sums over customers of a function of (x, t_x, T) (or (x, m)) only, so they
    can be evaluated once per distinct tuple and weighted by its count: exactly the same value.
    """
    stacked = np.column_stack([np.asarray(c, dtype=float) for c in columns])
    if len(stacked) == 0:
        return [np.array([]) for _ in columns], np.array([]), np.array([], dtype=int)
    unique, inverse, counts = np.unique(stacked, axis=0, return_inverse=True, return_counts=True)
    return [unique[:, i] for i in range(unique.shape[1])], counts.astype(float), inverse.reshape(-1)


def _fit(nll_and_grad, start: np.ndarray) -> np.ndarray:
    """Minimise over bounded log-parameters with L-BFGS-B, using the analytic gradient."""
    with np.errstate(all="ignore"):
        result = minimize(
            nll_and_grad,
            np.log(start),
            jac=True,
            method="L-BFGS-B",
            bounds=[LOG_BOUNDS] * len(start),
            options={"ftol": 1e-11, "gtol": 1e-7, "maxiter": 2000},
        )
    if not np.all(np.isfinite(result.x)) or not np.isfinite(result.fun) or result.fun >= 1e299:
        raise ArithmeticError(f"BTYD fit did not converge: {result.message}")
    return np.exp(result.x)


def _failed(size: int):
    return 1e300, np.zeros(size)


def fit_bgnbd(x, t_x, T, weights=None) -> BGNBD:
    """Maximum-likelihood BG/NBD parameters; `weights` counts how many customers share a row.

    Same likelihood as `bgnbd_log_likelihood`, arranged for speed: the gamma-function terms depend on
    x only, so they are evaluated once per distinct x and gathered; the gradient is analytic
    (digamma terms likewise per distinct x), so each L-BFGS-B step costs one pass over the rows.
    """
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    ux, inverse = np.unique(x, return_inverse=True)
    wx = np.bincount(inverse.reshape(-1), weights=w, minlength=len(ux))  # customers per distinct x
    repeat = x > 0
    xr, txr = x[repeat], t_x[repeat]
    n = w.sum()
    scale = 1.0 / max(n, 1.0)

    def nll(log_params):
        r, alpha, a, b = np.exp(log_params)
        per_x = (
            gammaln(r + ux) - gammaln(r) + gammaln(a + b) + gammaln(b + ux) - gammaln(b) - gammaln(a + b + ux)
        )
        log_at = np.log(alpha + T)
        a3 = -(r + x) * log_at
        log_atx = np.log(alpha + txr)
        a4 = np.full_like(x, -np.inf)
        a4[repeat] = np.log(a) - np.log(b + xr - 1) - (r + xr) * log_atx
        l3 = np.logaddexp(a3, a4)
        value = -(wx @ per_x + n * r * np.log(alpha) + w @ l3) * scale
        if not np.isfinite(value):
            return _failed(4)
        w3 = w * np.exp(a3 - l3)  # share of the "still alive" branch, weighted
        w4 = (w * np.exp(a4 - l3))[repeat]
        psi_ab, psi_abx = digamma(a + b), digamma(a + b + ux)
        d_r = wx @ (digamma(r + ux) - digamma(r)) + n * np.log(alpha) - w3 @ log_at - w4 @ log_atx
        d_alpha = n * r / alpha - w3 @ ((r + x) / (alpha + T)) - w4 @ ((r + xr) / (alpha + txr))
        d_a = wx @ (psi_ab - psi_abx) + w4.sum() / a
        d_b = wx @ (psi_ab + digamma(b + ux) - digamma(b) - psi_abx) - w4 @ (1.0 / (b + xr - 1))
        grad = -np.array([d_r * r, d_alpha * alpha, d_a * a, d_b * b]) * scale
        if not np.all(np.isfinite(grad)):
            return _failed(4)
        return value, grad

    mean_T = float(w @ T / max(n, 1.0))
    r, alpha, a, b = _fit(nll, np.array([1.0, max(mean_T, 1.0), 1.0, 1.0]))
    return BGNBD(r=float(r), alpha=float(alpha), a=float(a), b=float(b))


def gamma_gamma_log_likelihood(params, x, m) -> np.ndarray:
    """Per-customer log-likelihood of the mean spend m over x transactions (Fader & Hardie's note, eq. 3)."""
    p, q, gamma = params
    px = p * x
    return (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(gamma)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(gamma + m * x)
    )


def fit_gamma_gamma(x, m, weights=None) -> GammaGamma:
    """Maximum-likelihood Gamma-Gamma parameters over customers with x ≥ 1 and m > 0 (analytic gradient)."""
    x, m = np.asarray(x, float), np.asarray(m, float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    n = w.sum()
    scale = 1.0 / max(n, 1.0)
    log_m, log_x = np.log(m), np.log(x)
    mx = m * x

    def nll(log_params):
        p, q, gamma = np.exp(log_params)
        px = p * x
        log_gmx = np.log(gamma + mx)
        ll = gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(gamma) + (px - 1) * log_m
        ll += px * log_x - (px + q) * log_gmx
        value = -(w @ ll) * scale
        if not np.isfinite(value):
            return _failed(3)
        psi_pxq = digamma(px + q)
        d_p = w @ (x * (psi_pxq - digamma(px) + log_m + log_x - log_gmx))
        d_q = w @ (psi_pxq - log_gmx) + n * (np.log(gamma) - digamma(q))
        d_gamma = n * q / gamma - w @ ((px + q) / (gamma + mx))
        grad = -np.array([d_p * p, d_q * q, d_gamma * gamma]) * scale
        if not np.all(np.isfinite(grad)):
            return _failed(3)
        return value, grad

    mean_m = float(w @ m / max(n, 1.0))
    p, q, gamma = _fit(nll, np.array([1.0, 1.0, max(mean_m, 1.0)]))
    return GammaGamma(p=float(p), q=float(q), gamma=float(gamma))


def expected_purchases(model: BGNBD, t, x, t_x, T) -> np.ndarray:
    """E[Y(t) | x, t_x, T]: expected transactions in the next t weeks (eq. 10)."""
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    x = np.asarray(x, float)
    t_x, T = np.asarray(t_x, float), np.asarray(T, float)
    z = t / (alpha + T + t)
    head = (a + b + x - 1) / (a - 1)
    body = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z)
    return head * body / _alive_denominator(model, x, t_x, T)


def _alive_denominator(model: BGNBD, x, t_x, T) -> np.ndarray:
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    repeat = x > 0
    term = np.zeros_like(x)
    xr = x[repeat]
    term[repeat] = a / (b + xr - 1) * ((alpha + T[repeat]) / (alpha + t_x[repeat])) ** (r + xr)
    return 1 + term


def p_alive(model: BGNBD, x, t_x, T) -> np.ndarray:
    """P(customer still active | x, t_x, T)."""
    x = np.asarray(x, float)
    return 1 / _alive_denominator(model, x, np.asarray(t_x, float), np.asarray(T, float))


def expected_spend(model: GammaGamma, x, m) -> np.ndarray:
    """E[M | x, m]: expected value per future transaction (Gamma-Gamma posterior mean)."""
    x, m = np.asarray(x, float), np.asarray(m, float)
    return model.p * (model.gamma + x * m) / (model.p * x + model.q - 1)


def discounted_value(bg: BGNBD, spend, x, t_x, T, *, months: int = 12, annual_rate: float = 0.10):
    """Expected value of the next `months` months, each month's expected purchases discounted to today."""
    return predict(bg, x, t_x, T, months=months, annual_rate=annual_rate).discount_factor * np.asarray(
        spend, float
    )


@dataclass(frozen=True)
class Prediction:
    """Per-customer BG/NBD predictions over the next `months` months (see `predict`)."""

    purchases: np.ndarray  # expected transactions over the whole horizon
    p_alive: np.ndarray
    discount_factor: np.ndarray  # Σ over months of that month's expected purchases, discounted


def predict(bg: BGNBD, x, t_x, T, *, months: int = 12, annual_rate: float = 0.10) -> Prediction:
    """Expected purchases over `months` months, P(alive) and the discounted expected purchases.

    Same formulas as `expected_purchases` and `p_alive`, arranged for 100,000s of customers: the
    Gauss hypergeometric function depends on (x, T) and the horizon only, so it is evaluated once
    per distinct (x, T) pair and horizon month and gathered; the rest is vector arithmetic.
    """
    x, t_x, T = (np.asarray(v, float) for v in (x, t_x, T))
    r, alpha, a, b = bg.r, bg.alpha, bg.a, bg.b
    (ux, uT), _counts, pair = compress(x, T)
    denominator = _alive_denominator(bg, x, t_x, T)
    head = (a + b + x - 1) / (a - 1) / denominator
    weeks_per_month = 52.0 / 12.0
    discounted = np.zeros_like(x)
    previous = np.zeros_like(x)
    current = previous
    for k in range(1, months + 1):  # one vectorised step per month, never per customer
        t = k * weeks_per_month
        f = hyp2f1(r + ux, b + ux, a + b + ux - 1, t / (alpha + uT + t))
        power = ((alpha + uT) / (alpha + uT + t)) ** (r + ux)
        current = head * (1 - (power * f)[pair])
        discounted += (current - previous) / (1 + annual_rate) ** (k / 12)
        previous = current
    return Prediction(purchases=current, p_alive=1 / denominator, discount_factor=discounted)
