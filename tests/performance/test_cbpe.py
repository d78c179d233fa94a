"""CBPE: expected metrics from calibrated scores, against brute force and scikit-learn."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from arlequin_core.performance.calibration import Calibrator, fit_calibrator
from arlequin_core.performance.cbpe import (
    BAND_Z,
    PerformanceModel,
    expected_metrics,
    expected_roc_auc,
    fit_performance_model,
    realised_metrics,
    sampling_std,
)


def brute_force_auc(s: np.ndarray, p: np.ndarray) -> float:
    """The definition, pair by pair: sum over i != j of p_i (1 - p_j) ([s_i > s_j] + [s_i = s_j] / 2)."""
    num = den = 0.0
    for i, j in itertools.permutations(range(s.size), 2):
        w = p[i] * (1 - p[j])
        den += w
        num += w * (1.0 if s[i] > s[j] else 0.5 if s[i] == s[j] else 0.0)
    return num / den


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("n", [2, 3, 7, 60])
def test_expected_auc_matches_the_pairwise_definition(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    s = np.round(rng.random(n), 1)  # ties
    p = rng.random(n)
    assert expected_roc_auc(s, p) == pytest.approx(brute_force_auc(s, p), abs=1e-12)


@pytest.mark.parametrize("n", [5, 100, 200_000])
def test_known_labels_give_scikit_learns_auc(n: int) -> None:
    """With p = y (certain labels), the expected AUC is the realised one, ties included."""
    rng = np.random.default_rng(n)
    y = rng.integers(0, 2, n)
    y[:2] = [0, 1]
    s = np.round(rng.random(n), 2)
    assert expected_roc_auc(s, y.astype(float)) == pytest.approx(roc_auc_score(y, s), abs=1e-12)


def test_expected_confusion_matrix_metrics_by_hand() -> None:
    s = np.array([0.9, 0.7, 0.4, 0.2, 0.6])
    p = np.array([0.8, 0.5, 0.3, 0.1, 0.6])
    tp, fp, fn = 0.8 + 0.5 + 0.6, 0.2 + 0.5 + 0.4, 0.3 + 0.1
    got = expected_metrics(s, p, 0.5)
    assert got["precision"] == pytest.approx(tp / (tp + fp))
    assert got["recall"] == pytest.approx(tp / (tp + fn))
    assert got["f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn))


def test_undefined_metrics_are_nan_not_made_up() -> None:
    got = expected_metrics(np.array([0.1]), np.array([0.0]), 0.5)
    assert math.isnan(got["roc_auc"]) and math.isnan(got["precision"])


def _logistic_data(n: int, seed: int, shift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Labels from a fixed logistic rule of x, and a monotone but miscalibrated score."""
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1.0, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(2 * x - 1)))).astype(int)
    return y, 1 / (1 + np.exp(-x))


def test_calibration_brings_scores_to_probabilities() -> None:
    y, s = _logistic_data(20_000, 1)
    calibrator = fit_calibrator(y, s, seed=0)
    truth = 1 / (1 + np.exp(-(2 * np.log(s / (1 - s)) - 1)))
    assert np.mean(np.abs(calibrator(s) - truth)) < 0.3 * np.mean(np.abs(s - truth))
    assert set(calibrator.brier) == {"isotonic", "platt"}
    assert calibrator.brier[calibrator.method] == min(calibrator.brier.values())
    again = Calibrator.from_dict(json.loads(json.dumps(calibrator.to_dict())))
    np.testing.assert_array_equal(again(s), calibrator(s))


def test_isotonic_wins_on_a_non_logistic_distortion() -> None:
    rng = np.random.default_rng(3)
    s = rng.random(20_000)
    truth = np.where(s < 0.5, 0.05, 0.95)  # a step: no logistic curve of logit(s) fits it
    y = (rng.random(s.size) < truth).astype(int)
    assert fit_calibrator(y, s).method == "isotonic"


def test_calibration_refuses_too_few_rows_of_a_class() -> None:
    with pytest.raises(ValueError, match="at least 5 rows of each class"):
        fit_calibrator(np.array([0] * 50 + [1] * 3), np.linspace(0, 1, 53))


def test_sampling_std_interpolates_and_scales_beyond_the_table() -> None:
    table = [[100.0, 0.04], [400.0, 0.02]]
    assert sampling_std(table, 100) == pytest.approx(0.04)
    assert sampling_std(table, 200) == pytest.approx(0.04 * 0.5**0.5)  # log-log interpolation of 1/sqrt(n)
    assert sampling_std(table, 1_600) == pytest.approx(0.01)
    assert math.isnan(sampling_std([], 10))


@pytest.mark.parametrize("shift", [0.0, 0.7, -0.7])
def test_estimate_under_covariate_shift_is_within_the_band_of_the_realised(shift: float) -> None:
    """The rule (label given x) is unchanged; only x moved: CBPE's assumption holds."""
    y_ref, s_ref = _logistic_data(20_000, 5)
    model = PerformanceModel.from_dict(json.loads(json.dumps(fit_performance_model(y_ref, s_ref, 0.5).to_dict())))
    y, s = _logistic_data(5_000, 6, shift=shift)
    estimate = model.estimate(s, y_true=y, labelled=np.ones(y.size, dtype=bool))
    assert estimate["band_z"] == BAND_Z
    for metric, entry in estimate["metrics"].items():
        assert entry["lower"] <= entry["realised"] <= entry["upper"], (metric, entry)
        assert entry["reference"] == pytest.approx(realised_metrics(y_ref, s_ref, 0.5)[metric])


def test_band_narrows_with_the_batch_size() -> None:
    y, s = _logistic_data(20_000, 8)
    model = fit_performance_model(y, s, 0.5)
    small = model.estimate(s[:100])["metrics"]["roc_auc"]["std"]
    large = model.estimate(s[:10_000])["metrics"]["roc_auc"]["std"]
    assert large < small / 5
