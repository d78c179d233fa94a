"""KSWIN's autocorrelation adjustment: river's KS distance, its p-value at the effective sample size."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest
from river import drift
from river_streams import ar1, detection_rows, fired
from scipy import stats

from arlequin_river import KswinDetector
from arlequin_river.value import GrowingKSWIN, effective_size, ks_pvalue_at_effective_size, lag1_autocorrelation


def test_lag1_autocorrelation_is_the_usual_estimate_clipped() -> None:
    rng = np.random.default_rng(0)
    x = ar1(rng, 4000, 0.7)
    d = x - x.mean()
    assert lag1_autocorrelation(x) == pytest.approx(float(np.sum(d[:-1] * d[1:]) / np.sum(d * d)))
    assert 0.65 < lag1_autocorrelation(x) < 0.75
    assert lag1_autocorrelation((-1.0) ** np.arange(100)) == 0.0  # negative: no adjustment
    assert lag1_autocorrelation(np.full(50, 3.0)) == 0.0
    assert lag1_autocorrelation([1.0, 2.0]) == 0.0
    assert lag1_autocorrelation(np.arange(1000.0)) == 0.99  # a ramp: clipped


def test_the_pvalue_is_kolmogorovs_at_the_effective_size() -> None:
    for d, n, m in [(0.3, 150.0, 150.0), (0.5, 11.2, 11.2), (0.2, 40.0, 75.5), (1.0, 0.75, 0.75)]:
        expected = stats.kstwobign.sf(d * math.sqrt(n * m / (n + m)))
        assert ks_pvalue_at_effective_size(d, n, m) == pytest.approx(expected, rel=1e-9)
    assert effective_size(150.0, 0.86) == pytest.approx(150 * 0.14 / 1.86)


@pytest.mark.parametrize("grow", [False, True])
def test_the_detector_tests_rivers_distance_at_the_effective_size(grow: bool) -> None:
    # The first test of a fresh detector: its draws are a fresh random.Random(seed)'s.
    window_size, stat_size, seed, rho = 200, 60, 3, 0.6
    values = np.random.default_rng(4).normal(0.0, 1.0, window_size).tolist()
    detector = GrowingKSWIN(alpha=1e-9, window_size=window_size, stat_size=stat_size, seed=seed, grow=grow)
    detector.autocorrelation, detector.rho = True, rho
    first_test = 2 * stat_size if grow else window_size
    for x in values[:first_test]:
        detector.update(x)
    older = values[: first_test - stat_size]
    sample = [older[r] for r in random.Random(seed).sample(range(len(older)), stat_size)]
    d = stats.ks_2samp(sample, values[first_test - stat_size : first_test]).statistic
    n_e = stat_size * (1 - rho) / (1 + rho)
    assert detector.effective_stat_size == pytest.approx(n_e)
    assert detector.p_value == pytest.approx(stats.kstwobign.sf(d * math.sqrt(n_e / 2)), rel=1e-9)
    assert detector.p_value > stats.ks_2samp(sample, values[first_test - stat_size : first_test]).pvalue


def test_rho_zero_is_rivers_kswin_exactly() -> None:
    rng = np.random.default_rng(11)
    stream = np.concatenate([rng.normal(0, 1, 700), rng.normal(0, 3, 700), rng.normal(2, 1, 700)]).tolist()
    ours = GrowingKSWIN(alpha=0.005, window_size=100, stat_size=30, seed=5, autocorrelation=True)
    assert ours.rho == 0.0
    theirs = fired(drift.KSWIN(alpha=0.005, window_size=100, stat_size=30, seed=5), stream)
    assert fired(ours, stream) == theirs and len(theirs) >= 2
    # Through the detector: a reference with negative autocorrelation is clipped to rho 0.
    e = rng.normal(0.0, 1.0, 1001)
    ref = e[1:] - 0.8 * e[:-1]
    params = {"alpha": 0.005, "window_size": 100, "stat_size": 30, "grow": False}
    on = KswinDetector(**params, autocorrelation=True).fit(ref)
    assert on.score([]).details["autocorrelation"] == 0.0
    assert on.score([]).details["effective_stat_size"] == 30.0
    batches = [np.asarray(stream[i : i + 300]) for i in range(0, len(stream), 300)]
    assert detection_rows(on, batches) == detection_rows(
        KswinDetector(**params, autocorrelation=False).fit(ref), batches
    )


def test_fewer_false_alarms_on_an_autocorrelated_stream_without_change() -> None:
    rng = np.random.default_rng(21)
    ref, stream = ar1(rng, 1000, 0.9), ar1(rng, 6000, 0.9)
    params = {"alpha": 0.005, "window_size": 100, "stat_size": 30, "grow": False}
    batches = [stream[i : i + 500] for i in range(0, stream.size, 500)]
    on = KswinDetector(**params, autocorrelation=True).fit(ref)
    assert 0.85 < on.score([]).details["autocorrelation"] < 0.95
    plain, adjusted = (
        detection_rows(KswinDetector(**params, autocorrelation=False).fit(ref), batches),
        detection_rows(on, batches),
    )
    assert len(plain) >= 20, len(plain)
    assert len(adjusted) < len(plain) / 4, (len(adjusted), len(plain))


def test_a_level_shift_is_still_found_with_the_adjustment() -> None:
    rng = np.random.default_rng(31)
    ref = ar1(rng, 1000, 0.5)
    stream = ar1(rng, 2000, 0.5) + np.r_[np.zeros(1000), np.full(1000, 3.0)]
    detector = KswinDetector(autocorrelation=True).fit(ref)
    score = detector.score(stream)
    assert 0.4 < score.details["autocorrelation"] < 0.6
    assert score.details["detections"] and 1000 <= score.details["first_detection"] < 1200
    # iid values: the adjustment is small, a 1 sd shift is found as without it.
    rng = np.random.default_rng(32)
    iid = KswinDetector(autocorrelation=True).fit(rng.normal(0, 1, 1000))
    first = iid.score(np.r_[rng.normal(0, 1, 1000), rng.normal(1, 1, 1000)]).details["first_detection"]
    assert first is not None and 1000 <= first < 1300


def test_rho_is_saved_with_the_state_and_an_old_state_loads_without_adjustment() -> None:
    rng = np.random.default_rng(41)
    ref, stream = ar1(rng, 1000, 0.8), ar1(rng, 4000, 0.8)
    params = {"alpha": 0.005, "window_size": 100, "stat_size": 30, "grow": False}
    batches = [stream[i : i + 400] for i in range(0, stream.size, 400)]
    make = lambda: KswinDetector(**params, autocorrelation=True).fit(ref)  # noqa: E731
    detector = make()
    assert detector.to_profile()["state"]["rho"] == pytest.approx(lag1_autocorrelation((ref - ref.mean()) / ref.std()))
    whole = detection_rows(make(), batches)
    restarted, offset = [], 0
    for batch in batches:
        restarted += [offset + r for r in detector.score(batch).details["detections"]]
        offset += batch.size
        detector = KswinDetector.from_profile(json.loads(json.dumps(detector.to_profile(), allow_nan=False)))
        assert detector.river.rho > 0.7
    assert restarted == whole
    # A state saved before the adjustment existed (no rho, no parameter) continues as it did.
    old = KswinDetector(**params, autocorrelation=False).fit(ref).to_profile()
    del old["state"]["rho"], old["state"]["autocorrelation"], old["params"]["autocorrelation"]
    loaded = KswinDetector.from_profile(old)
    assert loaded.river.rho == 0.0 and loaded.params["autocorrelation"] is False
    assert "autocorrelation" not in loaded.score([]).details
    plain = detection_rows(KswinDetector(**params, autocorrelation=False).fit(ref), batches)
    assert detection_rows(loaded, batches) == plain and len(plain) > len(whole)
    # The adjustment on but no rho saved: no adjustment (the p-values are river's).
    no_rho = make().to_profile()
    del no_rho["state"]["rho"]
    off = json.loads(json.dumps(no_rho))
    off["params"]["autocorrelation"] = off["state"]["autocorrelation"] = False
    loaded = KswinDetector.from_profile(no_rho)
    assert loaded.river.rho == 0.0 and loaded.score([]).details["effective_stat_size"] == 30.0
    assert detection_rows(loaded, batches) == detection_rows(KswinDetector.from_profile(off), batches)
