"""Probability calibration of a binary classifier, fitted on its held-out rows.

Confidence-based performance estimation (:mod:`arlequin_core.performance.cbpe`) needs
probabilities that mean what they say: of the rows scored 0.8, about 80 % are
positive. Most models' scores are not calibrated (gradient-boosted trees and random
forests least of all), so training fits a calibrator on the model's held-out rows and
stores it with the model.

Two calibrators are tried, the two scikit-learn offers
(:class:`sklearn.calibration.CalibratedClassifierCV`'s ``method``):

* ``isotonic``: a non-decreasing step function of the score (isotonic regression),
  stored as its breakpoints and applied with linear interpolation between them;
* ``platt``: a logistic function of the score's logit, ``1 / (1 + exp(-(a z + b)))``
  with ``z = logit(clip(score))``.

Which one is kept is decided by cross-validation on the held-out rows
(:data:`FOLDS` folds, seeded): the one with the lower mean Brier score on the rows it
was not fitted on. Isotonic regression is more flexible but overfits small samples;
Platt scaling is rigid but stable — the cross-validation picks what calibrates better
on these rows. The fitted form is JSON (lists of floats), never a pickle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Cross-validation folds used to choose between isotonic and Platt.
FOLDS = 3
#: Scores are clipped to [EPS, 1 - EPS] before the logit of Platt scaling.
EPS = 1e-6
#: The fewest labelled rows of each class to fit a calibrator on.
MIN_PER_CLASS = 5
METHODS = ("isotonic", "platt")


@dataclass(frozen=True)
class Calibrator:
    """A fitted calibration map from a model's score to a probability.

    :param method: ``isotonic`` or ``platt``.
    :param params: ``{"x": [...], "y": [...]}`` (isotonic breakpoints, x increasing)
        or ``{"a": float, "b": float}`` (Platt).
    :param brier: the cross-validated Brier score of each method tried (lower is better).
    """

    method: str
    params: dict[str, Any]
    brier: dict[str, float] = field(default_factory=dict)

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        """Calibrated probabilities of ``scores`` (shape ``(n,)``, values in [0, 1])."""
        s = np.asarray(scores, dtype=np.float64)
        if self.method == "isotonic":
            x = np.asarray(self.params["x"], dtype=np.float64)
            y = np.asarray(self.params["y"], dtype=np.float64)
            return np.interp(s, x, y)
        z = _logit(s)
        return _sigmoid(self.params["a"] * z + self.params["b"])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"method": self.method, "params": self.params, "brier": self.brier}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibrator:
        """Rebuild from :meth:`to_dict` output.

        :raises ValueError: an unknown method or missing parameters.
        """
        method = data.get("method")
        params = data.get("params") or {}
        if method == "isotonic" and {"x", "y"} <= set(params):
            return cls("isotonic", {"x": list(params["x"]), "y": list(params["y"])}, _brier(data))
        if method == "platt" and {"a", "b"} <= set(params):
            return cls("platt", {"a": float(params["a"]), "b": float(params["b"])}, _brier(data))
        raise ValueError(f"not a calibrator: method {method!r} with parameters {sorted(params)}")


def fit_calibrator(y_true: np.ndarray, scores: np.ndarray, seed: int = 0, method: str | None = None) -> Calibrator:
    """Fit the better-calibrating of isotonic and Platt on ``(y_true, scores)``.

    :param y_true: shape ``(n,)``, labels 0/1.
    :param scores: shape ``(n,)``, the model's positive-class scores in [0, 1].
    :param seed: seeds the cross-validation folds.
    :param method: force ``isotonic`` or ``platt`` (default: chosen by cross-validated Brier score).
    :raises ValueError: shapes differ, or fewer than :data:`MIN_PER_CLASS` rows of a class.
    """
    y = np.asarray(y_true).astype(np.int64).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError(f"y_true has {y.size} rows but scores has {s.size}")
    positives = int(y.sum())
    if min(positives, y.size - positives) < MIN_PER_CLASS:
        raise ValueError(
            f"calibration needs at least {MIN_PER_CLASS} rows of each class; "
            f"the held-out rows have {positives} positive and {y.size - positives} negative"
        )
    if method is not None and method not in METHODS:
        raise ValueError(f"unknown calibration method {method!r}; known: {', '.join(METHODS)}")
    brier = {m: _cv_brier(m, y, s, seed) for m in METHODS}
    chosen = method or min(METHODS, key=lambda m: (brier[m], m))
    return Calibrator(chosen, _fit(chosen, y, s), brier)


def _fit(method: str, y: np.ndarray, s: np.ndarray) -> dict[str, Any]:
    if method == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(s, y)
        return {"x": [float(v) for v in iso.X_thresholds_], "y": [float(v) for v in iso.y_thresholds_]}
    from sklearn.linear_model import LogisticRegression

    z = _logit(s).reshape(-1, 1)
    lr = LogisticRegression(C=1e6, max_iter=1000).fit(z, y)
    return {"a": float(lr.coef_[0, 0]), "b": float(lr.intercept_[0])}


def _cv_brier(method: str, y: np.ndarray, s: np.ndarray, seed: int) -> float:
    rng = np.random.default_rng(seed)
    fold = np.empty(y.size, dtype=np.int64)
    for cls in (0, 1):  # stratified: every fold sees both classes
        idx = np.flatnonzero(y == cls)
        fold[idx] = rng.permutation(idx.size) % FOLDS
    errors = []
    for k in range(FOLDS):
        train, test = fold != k, fold == k
        if len(np.unique(y[train])) < 2 or not test.any():
            continue
        calibrator = Calibrator(method, _fit(method, y[train], s[train]))
        errors.append(float(np.mean((calibrator(s[test]) - y[test]) ** 2)))
    return float(np.mean(errors)) if errors else math.inf


def _logit(s: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(s, dtype=np.float64), EPS, 1.0 - EPS)
    return np.log(p / (1.0 - p))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _brier(data: dict[str, Any]) -> dict[str, float]:
    return {k: math.inf if v is None else float(v) for k, v in (data.get("brier") or {}).items()}
