"""The paired comparison: DeLong's variance from its definition, the bootstrap against known
standard errors, weighted metrics against scikit-learn, and the promotion rules."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from sklearn import metrics as skm

from arlequin_core.training.paired import (
    PairedComparison,
    compare_paired,
    decide,
    delong,
    paired_bootstrap,
    weighted_metric,
)


def correlated_scores(n: int, seed: int, ties: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels and two models' scores that share most of their signal (so the pair is correlated)."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.35).astype(np.int64)
    common = rng.normal(0, 1, n) + 1.2 * y
    a = common + rng.normal(0, 0.5, n)
    b = common + rng.normal(0, 0.7, n) + 0.1 * y
    if ties:
        a, b = np.round(a, 0), np.round(b * 2, 0) / 2
    return y, a, b


def delong_by_definition(y: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """DeLong, DeLong & Clarke-Pearson (1988), written out: psi, placements V10/V01, S10/S01, var."""
    x_idx = [i for i in range(len(y)) if y[i] == 1]
    y_idx = [j for j in range(len(y)) if y[j] == 0]
    m, n = len(x_idx), len(y_idx)

    def psi(x: float, yy: float) -> float:
        return 1.0 if x > yy else (0.5 if x == yy else 0.0)

    v10, v01, auc = [], [], []
    for s in (a, b):
        v10.append([sum(psi(s[i], s[j]) for j in y_idx) / n for i in x_idx])
        v01.append([sum(psi(s[i], s[j]) for i in x_idx) / m for j in y_idx])
        auc.append(sum(sum(psi(s[i], s[j]) for j in y_idx) for i in x_idx) / (m * n))

    def cov(values: list[list[float]], r: int, s: int, count: int) -> float:
        mr, ms = sum(values[r]) / count, sum(values[s]) / count
        return sum((values[r][k] - mr) * (values[s][k] - ms) for k in range(count)) / (count - 1)

    s10 = [[cov(v10, r, s, m) for s in range(2)] for r in range(2)]
    s01 = [[cov(v01, r, s, n) for s in range(2)] for r in range(2)]
    var = (s10[0][0] + s10[1][1] - 2 * s10[0][1]) / m + (s01[0][0] + s01[1][1] - 2 * s01[0][1]) / n
    return auc[0], auc[1], var


@pytest.mark.parametrize(("n", "seed", "ties"), [(150, 1, False), (200, 2, True), (9, 3, True), (301, 4, False)])
def test_delong_variance_equals_its_definition(n: int, seed: int, ties: bool) -> None:
    y, a, b = correlated_scores(n, seed, ties)
    auc_a, auc_b, var = delong(y, a, b)
    exp_a, exp_b, exp_var = delong_by_definition(y, a, b)
    assert auc_a == pytest.approx(exp_a, abs=1e-12)
    assert auc_b == pytest.approx(exp_b, abs=1e-12)
    assert auc_a == pytest.approx(skm.roc_auc_score(y, a), abs=1e-12)
    assert var == pytest.approx(exp_var, abs=1e-9, rel=1e-9)
    assert var > 0


def test_delong_refuses_a_class_with_fewer_than_two_rows() -> None:
    with pytest.raises(ValueError, match="at least 2 positives"):
        delong(np.array([1, 0, 0, 0]), np.arange(4.0), np.arange(4.0))


@pytest.mark.parametrize("metric", ["roc_auc", "pr_auc", "log_loss", "f1", "precision", "recall"])
def test_weighted_classification_metrics_equal_sklearn_with_sample_weight(metric: str) -> None:
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 400)
    p = np.round(np.clip(0.35 * y + rng.random(400) * 0.65, 0, 1), 2)  # rounded: many ties
    w = rng.integers(0, 4, (3, 400)).astype(float)
    pred = (p >= 0.5).astype(int)
    sk = {
        "roc_auc": lambda sw: skm.roc_auc_score(y, p, sample_weight=sw),
        "pr_auc": lambda sw: skm.average_precision_score(y, p, sample_weight=sw),
        "log_loss": lambda sw: skm.log_loss(y, p, sample_weight=sw),
        "f1": lambda sw: skm.f1_score(y, pred, sample_weight=sw),
        "precision": lambda sw: skm.precision_score(y, pred, sample_weight=sw),
        "recall": lambda sw: skm.recall_score(y, pred, sample_weight=sw),
    }[metric]
    got = weighted_metric(metric, y.astype(float), p, w)
    assert got == pytest.approx([sk(row) for row in w], abs=1e-12)


@pytest.mark.parametrize("metric", ["rmse", "mae", "r2"])
def test_weighted_regression_metrics_equal_sklearn_with_sample_weight(metric: str) -> None:
    rng = np.random.default_rng(8)
    y = rng.normal(3, 2, 300)
    p = y + rng.normal(0, 1, 300)
    w = rng.integers(0, 4, (3, 300)).astype(float)
    sk = {
        "rmse": lambda sw: math.sqrt(skm.mean_squared_error(y, p, sample_weight=sw)),
        "mae": lambda sw: skm.mean_absolute_error(y, p, sample_weight=sw),
        "r2": lambda sw: skm.r2_score(y, p, sample_weight=sw),
    }[metric]
    assert weighted_metric(metric, y, p, w) == pytest.approx([sk(row) for row in w], abs=1e-10)


def test_large_paired_bootstrap_matches_the_analytic_standard_error_of_a_mean() -> None:
    """log loss and MAE are row means: the difference's SE is sd(per-row difference) / sqrt(N)."""
    rng = np.random.default_rng(11)
    n, resamples = 3000, 4000
    y = (rng.random(n) < 0.4).astype(float)
    common = rng.normal(0, 1, n) + 1.5 * y
    pa = 1 / (1 + np.exp(-(common + rng.normal(0, 0.4, n))))
    pb = 1 / (1 + np.exp(-(common + rng.normal(0, 0.6, n))))
    la = -(y * np.log(pa) + (1 - y) * np.log(1 - pa))
    lb = -(y * np.log(pb) + (1 - y) * np.log(1 - pb))
    analytic = np.std(la - lb, ddof=0) / math.sqrt(n)
    _, _, diffs = paired_bootstrap("log_loss", y, pa, pb, resamples=resamples, seed=5)
    # The bootstrap SD's own relative sampling error is about 1/sqrt(2B): allow four of them.
    assert np.std(diffs, ddof=1) == pytest.approx(analytic, rel=4 / math.sqrt(2 * resamples))
    assert np.mean(diffs) == pytest.approx(la.mean() - lb.mean(), abs=4 * analytic / math.sqrt(resamples))

    t = rng.normal(0, 1, n)
    ea, eb = t + rng.normal(0, 1, n), t + 0.8 * rng.normal(0, 1, n) + 0.6 * rng.normal(0, 1, n)
    analytic = np.std(np.abs(ea - t) - np.abs(eb - t), ddof=0) / math.sqrt(n)
    _, _, diffs = paired_bootstrap("mae", t, ea, eb, resamples=resamples, seed=6)
    assert np.std(diffs, ddof=1) == pytest.approx(analytic, rel=4 / math.sqrt(2 * resamples))


def test_large_paired_bootstrap_of_roc_auc_agrees_with_delong() -> None:
    y, a, b = correlated_scores(2000, 12)
    resamples = 3000
    _, _, var = delong(y, a, b)
    _, _, diffs = paired_bootstrap("roc_auc", y, a, b, resamples=resamples, seed=1)
    # DeLong's variance is asymptotic; 2000 rows are plenty for agreement within the bootstrap's error.
    assert np.std(diffs, ddof=1) == pytest.approx(math.sqrt(var), rel=5 / math.sqrt(2 * resamples))


def test_bootstrap_is_reproducible_by_seed_and_changes_with_it() -> None:
    y, a, b = correlated_scores(500, 13)
    pa, pb = 1 / (1 + np.exp(-a)), 1 / (1 + np.exp(-b))
    first = compare_paired("log_loss", y, pa, pb, resamples=200, seed=3)
    assert compare_paired("log_loss", y, pa, pb, resamples=200, seed=3) == first
    assert compare_paired("log_loss", y, pa, pb, resamples=200, seed=4).low != first.low
    assert first.method == "bootstrap" and first.resamples == 200
    assert first.low <= first.difference <= first.high


@functools.cache
def _identical_quality_pair(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two random forests on the same training rows that differ only by their seed; held-out scores."""
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(seed)
    n = 1600
    x = rng.normal(0, 1, (n, 4))
    y = (rng.random(n) < 1 / (1 + np.exp(-(1.5 * x[:, 0] - x[:, 1] + 0.5 * x[:, 2] * x[:, 3])))).astype(int)
    train, test = slice(0, 1000), slice(1000, n)
    scores = []
    for model_seed in (2 * seed, 2 * seed + 1):
        model = RandomForestClassifier(n_estimators=25, min_samples_leaf=5, random_state=model_seed, n_jobs=1)
        scores.append(model.fit(x[train], y[train]).predict_proba(x[test])[:, 1])
    return y[test], scores[0], scores[1]


@pytest.mark.parametrize("metric", ["roc_auc", "log_loss"])
def test_a_challenger_of_identical_quality_is_not_called_better_in_19_of_20_seeded_runs(metric: str) -> None:
    better = 0
    for seed in range(20):
        y, challenger, champion = _identical_quality_pair(seed)
        comparison = compare_paired(metric, y, challenger, champion, resamples=300, seed=seed)
        passed, _ = decide(comparison, "superior", 0.0)
        better += passed
        # Same quality is never "significantly worse by more than 0.02" either.
        assert decide(comparison, "non_inferior", 0.02)[0], comparison
    assert better <= 1


def test_a_clearly_better_challenger_is_superior_and_a_clearly_worse_one_is_not_non_inferior() -> None:
    rng = np.random.default_rng(21)
    n = 3000
    y = (rng.random(n) < 0.5).astype(int)
    good = y + rng.normal(0, 0.6, n)
    poor = y + rng.normal(0, 1.5, n)
    better = compare_paired("roc_auc", y, good, poor)
    assert better.p_value < 1e-6
    assert decide(better, "superior", 0.0)[0]
    worse = compare_paired("roc_auc", y, poor, good)
    passed, reason = decide(worse, "non_inferior", 0.01)
    assert not passed
    assert reason.startswith("significantly worse than the champion by more than 0.01 (non_inferior): roc_auc")
    assert "p=" in reason and "delong" in reason


def _comparison(metric: str, diff: float, low: float, high: float) -> PairedComparison:
    return PairedComparison(metric, "bootstrap", 0.5 + diff, 0.5, diff, low, high, 0.04, 0.95, 100, 100, 0)


@pytest.mark.parametrize(
    ("metric", "low", "high", "rule", "tolerance", "passed"),
    [
        ("f1", -0.05, 0.01, "non_inferior", 0.0, True),  # not significantly worse
        ("f1", -0.05, -0.01, "non_inferior", 0.0, False),  # significantly worse
        ("f1", -0.05, -0.01, "non_inferior", 0.02, True),  # ... but within the tolerance
        ("f1", -0.05, 0.01, "superior", 0.0, False),
        ("f1", 0.01, 0.05, "superior", 0.0, True),
        # lower is better: a negative difference is an improvement
        ("log_loss", -0.05, -0.01, "superior", 0.0, True),
        ("log_loss", 0.01, 0.05, "non_inferior", 0.0, False),
        ("rmse", 0.01, 0.05, "non_inferior", 0.1, True),
    ],
)
def test_rules_read_the_interval_in_the_metric_direction(
    metric: str, low: float, high: float, rule: str, tolerance: float, passed: bool
) -> None:
    assert decide(_comparison(metric, (low + high) / 2, low, high), rule, tolerance)[0] is passed


def test_undefined_metrics_and_unknown_rules() -> None:
    nan = math.nan
    nan_challenger = PairedComparison("pr_auc", "bootstrap", nan, 0.5, nan, nan, nan, nan, 0.95, 9)
    assert decide(nan_challenger, "non_inferior", 0.0)[0] is False
    nan_champion = PairedComparison("pr_auc", "bootstrap", 0.5, nan, nan, nan, nan, nan, 0.95, 9)
    assert decide(nan_champion, "superior", 0.0)[0] is True
    with pytest.raises(ValueError, match="unknown promotion rule 'better'"):
        decide(nan_champion, "better", 0.0)
    with pytest.raises(ValueError, match="unknown metric 'auc'"):
        compare_paired("auc", [0, 1], [0.1, 0.2], [0.2, 0.1])
    with pytest.raises(ValueError, match="same rows"):
        compare_paired("f1", [0, 1], [0.1, 0.2], [0.2])


def test_identical_models_have_a_zero_interval_and_p_one() -> None:
    y, a, _ = correlated_scores(300, 30)
    same = compare_paired("roc_auc", y, a, a)
    assert (same.difference, same.low, same.high, same.p_value) == (0.0, 0.0, 0.0, 1.0)
    assert decide(same, "non_inferior", 0.0)[0] and not decide(same, "superior", 0.0)[0]
