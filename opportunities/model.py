"""The learned replacement model: a discrete-time hazard (logistic regression on person-period rows).

Each row is one vehicle at risk during one half-year; its outcome is whether the customer replaced the
vehicle in that half-year. The fitted logistic regression is the half-year hazard, which is exactly
"P(replace within the next 6 months)" asked of the vehicles owned today. Why this and not gradient
boosting: see docs/analytics.md ("Replacement propensity"). scikit-learn fits it; what scoring needs is
stored as plain numbers (standardisation and coefficients) in `ReplacementFit.params`, so a score is a
dot product and a sigmoid in numpy, with no pickled object to trust or to keep compatible.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from opportunities.features import FEATURES

# A shop needs this many replacements in its history before its own model replaces the rules.
MIN_EVENTS_FOR_MODEL = 30
# Person-period rows beyond this are sampled uniformly (unbiased: the hazard keeps its level).
MAX_TRAINING_ROWS = 600_000
# L2 strength: mild, so a shop with 30 events does not fit noise, a large shop is barely shrunk.
REGULARISATION_C = 1.0


def fit(X: np.ndarray, y: np.ndarray, *, seed: int = 0) -> dict:
    """Fit the hazard model; returns the parameters scoring needs (JSON-serialisable)."""
    if len(y) > MAX_TRAINING_ROWS:
        keep = np.random.default_rng(seed).choice(len(y), MAX_TRAINING_ROWS, replace=False)
        X, y = X[keep], y[keep]
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale = np.where(scale > 1e-9, scale, 1.0)
    model = LogisticRegression(C=REGULARISATION_C, max_iter=500)
    model.fit((X - mean) / scale, y.astype(int))
    return {
        "features": list(FEATURES),
        "mean": mean.tolist(),
        "scale": scale.tolist(),
        "coef": model.coef_[0].tolist(),
        "intercept": float(model.intercept_[0]),
    }


def predict(params: dict, X: np.ndarray) -> np.ndarray:
    """P(replacement within the next half-year) for each row of X."""
    if not len(X):
        return np.zeros(0)
    if params.get("features") != list(FEATURES):
        raise ValueError("the stored model was fitted on other features; refit it")
    z = (X - np.asarray(params["mean"])) / np.asarray(params["scale"])
    logit = z @ np.asarray(params["coef"]) + params["intercept"]
    return 1.0 / (1.0 + np.exp(-np.clip(logit, -30, 30)))


def auc(y: np.ndarray, scores: np.ndarray) -> float | None:
    """Area under the ROC curve; None when only one outcome occurs (nothing to rank)."""
    if len(y) == 0 or y.all() or not y.any():
        return None
    return float(roc_auc_score(y.astype(int), scores))


def calibration(y: np.ndarray, scores: np.ndarray, *, groups: int = 10) -> list[dict]:
    """Predicted versus observed share by decile of the score (lowest first)."""
    if len(y) < groups:
        return []
    order = np.argsort(scores, kind="stable")
    return [
        {
            "decile": i + 1,
            "vehicles": len(part),
            "predicted": float(scores[part].mean()),
            "observed": float(y[part].mean()),
        }
        for i, part in enumerate(np.array_split(order, groups))
    ]
