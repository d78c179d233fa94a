"""Held-out metrics (classification and regression), and the point-estimate comparison.

Every trainer and the champion/challenger validation compute metrics here, from the
true labels and the predicted probability of the positive class (classification) or
the prediction (regression), with scikit-learn's definitions, so models from
different engines compare like for like. Classification:

* ``roc_auc``: :func:`sklearn.metrics.roc_auc_score`;
* ``pr_auc``: average precision (:func:`sklearn.metrics.average_precision_score`),
  the step-wise area under the precision-recall curve;
* ``f1``, ``precision``, ``recall``: at the 0.5 probability threshold, 0 when undefined;
* ``log_loss``: :func:`sklearn.metrics.log_loss` (lower is better).

With a single class in the data, ``roc_auc``, ``pr_auc`` (no positives) are NaN: the
metric is undefined, and a promotion decided on it is refused (see :func:`compare`).

Regression (:data:`REGRESSION_METRICS`): ``rmse`` (root mean squared error), ``mae``
(mean absolute error), both lower is better, and ``r2``
(:func:`sklearn.metrics.r2_score`; NaN when the labels are constant).

The paired test that decides promotion is in :mod:`arlequin_core.training.paired`.
"""

from __future__ import annotations

import math

import numpy as np

METRICS = ("roc_auc", "pr_auc", "f1", "precision", "recall", "log_loss")
REGRESSION_METRICS = ("rmse", "mae", "r2")
#: The task each metric belongs to.
METRIC_TASK = {**dict.fromkeys(METRICS, "classification"), **dict.fromkeys(REGRESSION_METRICS, "regression")}
#: The promotion metric when ``[training] metric`` is not set.
DEFAULT_METRIC = {"classification": "roc_auc", "regression": "rmse"}
#: Metrics where a smaller value is better.
LOWER_IS_BETTER = frozenset({"log_loss", "rmse", "mae"})
THRESHOLD = 0.5


def promotion_metric(configured: str | None, task: str) -> str:
    """The metric that decides promotion for ``task``: ``[training] metric``, else :data:`DEFAULT_METRIC`.

    :raises ConfigError: the configured metric belongs to the other task.
    """
    from arlequin_core.errors import ConfigError

    if configured is None:
        return DEFAULT_METRIC[task]
    if METRIC_TASK[configured] != task:
        known = METRICS if task == "classification" else REGRESSION_METRICS
        raise ConfigError(
            f"[training] metric = {configured!r} is a {METRIC_TASK[configured]} metric but the task is {task}; "
            f"use one of {', '.join(known)}"
        )
    return configured


def regression_metrics(y_true: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """:data:`REGRESSION_METRICS` of numeric labels and predictions, shapes ``(n,)``.

    :raises ValueError: empty input or shapes differ.
    """
    from sklearn import metrics as skm

    y = np.asarray(y_true, dtype=np.float64).ravel()
    p = np.asarray(predicted, dtype=np.float64).ravel()
    if y.shape != p.shape:
        raise ValueError(f"y_true has {y.size} rows but predictions have {p.size}")
    if y.size == 0:
        raise ValueError("no rows to compute metrics on")
    constant = bool(np.all(y == y[0]))
    return {
        "rmse": float(np.sqrt(skm.mean_squared_error(y, p))),
        "mae": float(skm.mean_absolute_error(y, p)),
        "r2": math.nan if constant else float(skm.r2_score(y, p)),
    }


def task_metrics(task: str, y_true: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """:func:`compute_metrics` (classification) or :func:`regression_metrics` (regression)."""
    return regression_metrics(y_true, scores) if task == "regression" else compute_metrics(y_true, scores)


def compute_metrics(y_true: np.ndarray, proba: np.ndarray, threshold: float = THRESHOLD) -> dict[str, float]:
    """All :data:`METRICS` for binary labels and positive-class probabilities.

    :param y_true: shape ``(n,)``, values 0/1.
    :param proba: shape ``(n,)``, probability of class 1 in [0, 1].
    :param threshold: probability at or above which a row is predicted positive.
    :raises ValueError: empty input or shapes differ.
    """
    from sklearn import metrics as skm

    y = np.asarray(y_true).astype(np.int64).ravel()
    p = np.asarray(proba, dtype=np.float64).ravel()
    if y.shape != p.shape:
        raise ValueError(f"y_true has {y.size} rows but proba has {p.size}")
    if y.size == 0:
        raise ValueError("no rows to compute metrics on")
    pred = (p >= threshold).astype(np.int64)
    both = np.unique(y).size == 2
    return {
        "roc_auc": float(skm.roc_auc_score(y, p)) if both else math.nan,
        "pr_auc": float(skm.average_precision_score(y, p)) if y.any() else math.nan,
        "f1": float(skm.f1_score(y, pred, zero_division=0.0)),
        "precision": float(skm.precision_score(y, pred, zero_division=0.0)),
        "recall": float(skm.recall_score(y, pred, zero_division=0.0)),
        "log_loss": float(skm.log_loss(y, np.clip(p, 0.0, 1.0), labels=[0, 1])),
    }


def compare(metric: str, challenger: float, champion: float, tolerance: float) -> tuple[bool, str]:
    """Whether the challenger may replace the champion, and why.

    It passes when it is not worse than the champion by more than ``tolerance``
    (absolute, in the metric's units): ``challenger >= champion - tolerance``, or
    ``challenger <= champion + tolerance`` for :data:`LOWER_IS_BETTER` metrics. A NaN
    challenger fails; a NaN champion (undefined on this data) lets a defined
    challenger pass.
    """
    if metric not in METRIC_TASK:
        raise ValueError(f"unknown metric {metric!r}; known: {', '.join(METRIC_TASK)}")
    shown = f"{metric} challenger {challenger:.6g} vs champion {champion:.6g}, tolerance {tolerance:g}"
    if math.isnan(challenger):
        return False, f"{metric} is undefined for the challenger on the validation data (one class only?); {shown}"
    if math.isnan(champion):
        return True, f"{metric} is undefined for the champion on the validation data; {shown}"
    lower = metric in LOWER_IS_BETTER
    passed = challenger <= champion + tolerance if lower else challenger >= champion - tolerance
    verdict = "not worse than the champion beyond the tolerance" if passed else "worse than the champion"
    return passed, f"{verdict}: {shown}"
