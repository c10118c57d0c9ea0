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
from scipy.special import gammaln, hyp2f1


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


def _fit(nll, start: np.ndarray) -> np.ndarray:
    """Minimise over bounded log-parameters with L-BFGS-B and tight tolerances."""
    with np.errstate(all="ignore"):
        result = minimize(
            nll,
            np.log(start),
            method="L-BFGS-B",
            bounds=[LOG_BOUNDS] * len(start),
            options={"ftol": 1e-13, "gtol": 1e-9, "maxiter": 2000},
        )
    if not np.all(np.isfinite(result.x)) or not np.isfinite(result.fun) or result.fun >= 1e299:
        raise ArithmeticError(f"BTYD fit did not converge: {result.message}")
    return np.exp(result.x)


def fit_bgnbd(x, t_x, T) -> BGNBD:
    """Maximum-likelihood BG/NBD parameters.

    Same likelihood as `bgnbd_log_likelihood`, arranged for speed: the gamma-function terms depend on
    x only, so they are evaluated once per distinct x and gathered; the rest is a few vector logs.
    """
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    ux, inverse = np.unique(x, return_inverse=True)
    repeat = x > 0
    xr, txr = x[repeat], t_x[repeat]
    scale = 1.0 / max(len(x), 1)

    def nll(log_params):
        r, alpha, a, b = np.exp(log_params)
        per_x = (
            gammaln(r + ux) - gammaln(r) + gammaln(a + b) + gammaln(b + ux) - gammaln(b) - gammaln(a + b + ux)
        )
        a3 = -(r + x) * np.log(alpha + T)
        a4 = np.full_like(x, -np.inf)
        a4[repeat] = np.log(a) - np.log(b + xr - 1) - (r + xr) * np.log(alpha + txr)
        value = -(per_x[inverse].sum() + len(x) * r * np.log(alpha) + np.logaddexp(a3, a4).sum()) * scale
        return value if np.isfinite(value) else 1e300

    r, alpha, a, b = _fit(nll, np.array([1.0, max(float(np.mean(T)), 1.0), 1.0, 1.0]))
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


def fit_gamma_gamma(x, m) -> GammaGamma:
    """Maximum-likelihood Gamma-Gamma parameters over customers with x ≥ 1 and m > 0."""
    x, m = np.asarray(x, float), np.asarray(m, float)
    scale = 1.0 / max(len(x), 1)

    def nll(log_params):
        value = -gamma_gamma_log_likelihood(np.exp(log_params), x, m).sum() * scale
        return value if np.isfinite(value) else 1e300

    p, q, gamma = _fit(nll, np.array([1.0, 1.0, max(float(np.mean(m)), 1.0)]))
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
    weeks_per_month = 52.0 / 12.0
    total = np.zeros(len(np.asarray(x)))
    previous = np.zeros_like(total)
    for k in range(1, months + 1):  # one vectorised step per month, never per customer
        current = expected_purchases(bg, k * weeks_per_month, x, t_x, T)
        total += (current - previous) / (1 + annual_rate) ** (k / 12)
        previous = current
    return total * np.asarray(spend, float)
