"""Held-out metrics match scikit-learn's definitions; the promotion comparison is right in both directions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics as skm

from arlequin_core.training.metrics import METRICS, compare, compute_metrics


def test_metrics_equal_sklearn_on_random_scores() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 500)
    p = np.clip(0.3 * y + rng.random(500) * 0.7, 0, 1)
    got = compute_metrics(y, p)
    pred = (p >= 0.5).astype(int)
    assert set(got) == set(METRICS)
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p), abs=1e-12)
    assert got["pr_auc"] == pytest.approx(skm.average_precision_score(y, p), abs=1e-12)
    assert got["f1"] == pytest.approx(skm.f1_score(y, pred), abs=1e-12)
    assert got["precision"] == pytest.approx(skm.precision_score(y, pred), abs=1e-12)
    assert got["recall"] == pytest.approx(skm.recall_score(y, pred), abs=1e-12)
    assert got["log_loss"] == pytest.approx(skm.log_loss(y, p), abs=1e-12)


def test_metrics_by_hand_on_a_tiny_case() -> None:
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.6, 0.4, 0.9])
    got = compute_metrics(y, p)
    # Pairs (pos, neg) ordered correctly: (0.4>0.1), (0.9>0.1), (0.9>0.6); wrong: (0.4<0.6) -> 3/4.
    assert got["roc_auc"] == pytest.approx(0.75)
    # Predicted positive: 0.6 (wrong) and 0.9 (right).
    assert got["precision"] == pytest.approx(0.5)
    assert got["recall"] == pytest.approx(0.5)
    expected_log_loss = -(math.log(0.9) + math.log(0.4) + math.log(0.4) + math.log(0.9)) / 4
    assert got["log_loss"] == pytest.approx(expected_log_loss)


def test_single_class_makes_ranking_metrics_nan_not_a_crash() -> None:
    got = compute_metrics(np.zeros(10, dtype=int), np.linspace(0, 1, 10))
    assert math.isnan(got["roc_auc"])
    assert math.isnan(got["pr_auc"])
    assert got["precision"] == 0.0
    assert not math.isnan(got["log_loss"])


def test_metrics_refuse_mismatched_or_empty_input() -> None:
    with pytest.raises(ValueError, match="3 rows but proba has 2"):
        compute_metrics(np.array([0, 1, 1]), np.array([0.1, 0.2]))
    with pytest.raises(ValueError, match="no rows"):
        compute_metrics(np.array([]), np.array([]))


@pytest.mark.parametrize(
    ("metric", "challenger", "champion", "tolerance", "passed"),
    [
        ("roc_auc", 0.80, 0.80, 0.0, True),
        ("roc_auc", 0.79, 0.80, 0.0, False),
        ("roc_auc", 0.79, 0.80, 0.02, True),
        ("roc_auc", 0.77, 0.80, 0.02, False),
        ("log_loss", 0.50, 0.40, 0.0, False),
        ("log_loss", 0.40, 0.50, 0.0, True),
        ("log_loss", 0.41, 0.40, 0.05, True),
        ("f1", math.nan, 0.5, 0.1, False),
        ("f1", 0.2, math.nan, 0.0, True),
    ],
)
def test_compare_applies_tolerance_in_the_metric_direction(
    metric: str, challenger: float, champion: float, tolerance: float, passed: bool
) -> None:
    ok, reason = compare(metric, challenger, champion, tolerance)
    assert ok is passed
    assert metric in reason


def test_compare_rejects_unknown_metric() -> None:
    with pytest.raises(ValueError, match="unknown metric 'auc'"):
        compare("auc", 1.0, 1.0, 0.0)
