"""KSWIN's ``min_stat_size``: with ``grow=True`` the compared samples grow with the window."""

from __future__ import annotations

import json
import math
import random
import re

import numpy as np
import pytest
from river_streams import detection_rows, fired
from scipy import stats

from arlequin_river import KswinDetector
from arlequin_river.value import GrowingKSWIN


def test_the_samples_keep_the_full_windows_proportion_from_min_stat_size_on() -> None:
    detector = GrowingKSWIN(window_size=500, stat_size=150, grow=True, min_stat_size=20)
    sizes = {length: detector.test_size(length) for length in (40, 66, 67, 100, 300, 499, 500)}
    # max(20, length * 150 // 500), and stat_size itself once the window is full.
    assert sizes == {40: 20, 66: 20, 67: 20, 100: 30, 300: 90, 499: 149, 500: 150}
    assert GrowingKSWIN(window_size=500, stat_size=150, grow=True).test_size(300) == 150
    assert GrowingKSWIN(window_size=500, stat_size=150, grow=False, min_stat_size=20).test_size(300) == 150


@pytest.mark.parametrize("rho", [0.0, 0.6])
def test_the_first_test_compares_min_stat_size_values_at_that_size(rho: float) -> None:
    # The first test of a fresh detector (its draws are a fresh random.Random(seed)'s)
    # comes at 2 * min_stat_size values, between the newest 20 and 20 drawn from the
    # older 20; its p-value is taken at that size (adjusted for rho when rho > 0).
    window_size, stat_size, m, seed = 200, 60, 20, 3
    values = np.random.default_rng(4).normal(0.0, 1.0, 2 * m).tolist()
    detector = GrowingKSWIN(
        alpha=1e-9, window_size=window_size, stat_size=stat_size, seed=seed, grow=True, min_stat_size=m
    )
    detector.autocorrelation, detector.rho = True, rho
    for x in values[: 2 * m - 1]:
        detector.update(x)
    assert detector.p_value == 0  # river's initial value: no test yet
    detector.update(values[-1])
    older = values[:m]
    sample = [older[r] for r in random.Random(seed).sample(range(m), m)]
    exact = stats.ks_2samp(sample, values[m:])
    if rho == 0.0:
        assert detector.p_value == pytest.approx(exact.pvalue, rel=1e-12)
    else:
        n_e = m * (1 - rho) / (1 + rho)
        assert detector.p_value == pytest.approx(stats.kstwobign.sf(exact.statistic * math.sqrt(n_e / 2)), rel=1e-9)


def test_a_short_series_is_tested_with_growing_samples_and_not_with_fixed_ones() -> None:
    # A 3 sd shift at value 40 of 120: fixed samples of 150 need 300 values before the
    # first test; samples growing from 20 test from 40 values on.
    rng = np.random.default_rng(21)
    stream = np.concatenate([rng.normal(0, 1, 40), rng.normal(3, 1, 80)]).tolist()
    params = {"alpha": 1e-5, "window_size": 500, "stat_size": 150, "seed": 1, "grow": True}
    assert fired(GrowingKSWIN(**params), stream) == []
    hits = fired(GrowingKSWIN(**params, min_stat_size=20), stream)
    assert hits and 40 <= hits[0] < 100
    # No change: nothing fires, whatever the sample size.
    quiet = rng.normal(0, 1, 2000).tolist()
    assert fired(GrowingKSWIN(**params, min_stat_size=20), quiet) == []


def test_min_stat_size_equal_to_stat_size_is_the_fixed_samples() -> None:
    rng = np.random.default_rng(22)
    stream = np.concatenate([rng.normal(0, 1, 700), rng.normal(0, 3, 700), rng.normal(2, 1, 700)]).tolist()
    params = {"alpha": 0.005, "window_size": 100, "stat_size": 30, "seed": 5, "grow": True}
    fixed = fired(GrowingKSWIN(**params), stream)
    assert fired(GrowingKSWIN(**params, min_stat_size=30), stream) == fixed and len(fixed) >= 2
    assert fired(GrowingKSWIN(**params, min_stat_size=10), stream) != fixed


@pytest.mark.parametrize(
    ("value", "message"),
    [(0, "min_stat_size"), (151, "at most stat_size (150)"), (True, "min_stat_size"), (20.0, "min_stat_size")],
)
def test_min_stat_size_is_checked(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        KswinDetector(min_stat_size=value)  # type: ignore[arg-type]


def test_the_default_grows_its_samples_and_none_keeps_them_fixed() -> None:
    assert KswinDetector().params["min_stat_size"] == 20
    assert KswinDetector(min_stat_size=None).fit(np.arange(10.0)).river.min_stat_size is None


def _restarted(make, ref: np.ndarray, batches: list[np.ndarray]) -> list[int]:
    detector, out, offset = make().fit(ref), [], 0
    for batch in batches:
        out += [offset + r for r in detector.score(batch).details["detections"]]
        offset += batch.size
        detector = KswinDetector.from_profile(json.loads(json.dumps(detector.to_profile(), allow_nan=False)))
    return out


def test_growing_samples_restart_with_the_same_detections_and_an_old_state_keeps_fixed_ones() -> None:
    # Shifts of 3 sd every 300 values: after each detection the window (and its samples)
    # grow again, so the restarts land in the growing phase.
    rng = np.random.default_rng(23)
    ref = rng.normal(0, 1, 1000)
    stream = np.concatenate([rng.normal(3.0 * (k % 2), 1, 300) for k in range(8)])
    batches = [stream[i : i + 170] for i in range(0, stream.size, 170)]
    make = lambda: KswinDetector(min_stat_size=20)  # noqa: E731
    whole = detection_rows(make().fit(ref), batches)
    assert len(whole) >= 5
    assert _restarted(make, ref, batches) == whole
    # A state saved before the parameter existed (grow on, fixed samples) continues as it did.
    old = KswinDetector(min_stat_size=None).fit(ref).to_profile()
    del old["params"]["min_stat_size"], old["state"]["min_stat_size"]
    loaded = KswinDetector.from_profile(old)
    assert loaded.params["min_stat_size"] is None
    fixed = detection_rows(KswinDetector(min_stat_size=None).fit(ref), batches)
    assert detection_rows(loaded, batches) == fixed != whole
