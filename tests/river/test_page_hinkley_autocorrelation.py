"""Page-Hinkley on autocorrelated values: the values scaled by the reference's long-run standard deviation."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from river import drift
from river_streams import ar1, detection_rows, fired

from arlequin_river import PageHinkleyDetector
from arlequin_river.evaluation import river_defaults
from arlequin_river.value import PageHinkley, lag1_autocorrelation, long_run_factor


def test_long_run_factor_is_the_ar1_variance_inflation_of_a_sum() -> None:
    assert long_run_factor(0.0) == 1.0
    assert long_run_factor(0.8) == pytest.approx(3.0)
    # Simulated: the sum of 2,000 AR(1) values with phi = 0.6, over 400 replicates.
    rng = np.random.default_rng(3)
    sums = np.array([ar1(rng, 2000, 0.6).sum() for _ in range(400)])
    assert sums.std() / math.sqrt(2000) == pytest.approx(long_run_factor(0.6), rel=0.1)


def test_the_scale_is_the_standard_deviation_times_the_long_run_factor() -> None:
    rng = np.random.default_rng(5)
    ref = 10.0 + 2.0 * ar1(rng, 3000, 0.7)
    rho = lag1_autocorrelation(ref)
    assert 0.65 < rho < 0.75
    on = PageHinkleyDetector().fit(ref)  # the default
    off = PageHinkleyDetector(autocorrelation=False).fit(ref)
    assert off.to_profile()["scale"] == pytest.approx(ref.std(ddof=1))
    assert on.to_profile()["scale"] == pytest.approx(ref.std(ddof=1) * math.sqrt((1 + rho) / (1 - rho)))
    details = on.score(ref[:10]).details
    assert details["autocorrelation"] == pytest.approx(rho)
    assert details["long_run_factor"] == pytest.approx(long_run_factor(rho))
    assert "autocorrelation" not in off.score(ref[:10]).details


def test_the_test_is_rivers_on_the_scaled_values() -> None:
    rng = np.random.default_rng(6)
    ref = ar1(rng, 1000, 0.5)
    stream = np.r_[ar1(rng, 1500, 0.5), ar1(rng, 1500, 0.5) + 2.0]
    detector = PageHinkleyDetector(threshold=20.0, min_instances=30).fit(ref)
    profile = detector.to_profile()
    params = {k: v for k, v in profile["params"].items() if k != "autocorrelation"}
    theirs = drift.PageHinkley(**params)
    fired(theirs, ((ref - profile["location"]) / profile["scale"]).tolist())  # the same warm-up
    expected = fired(theirs, ((stream - profile["location"]) / profile["scale"]).tolist())
    assert detection_rows(detector, [stream[:1000], stream[1000:2000], stream[2000:]]) == expected
    assert expected and expected[0] >= 1500


def test_fewer_false_alarms_on_an_autocorrelated_stream_without_change() -> None:
    rng = np.random.default_rng(7)
    ref, stream = ar1(rng, 1000, 0.9), ar1(rng, 20_000, 0.9)
    batches = [stream[i : i + 1000] for i in range(0, stream.size, 1000)]
    plain = detection_rows(PageHinkleyDetector(autocorrelation=False).fit(ref), batches)
    scaled = detection_rows(PageHinkleyDetector().fit(ref), batches)
    assert len(plain) >= 10, len(plain)
    assert len(scaled) < len(plain) / 4, (len(scaled), len(plain))


def test_independent_values_are_barely_rescaled_and_a_shift_is_still_found() -> None:
    rng = np.random.default_rng(8)
    ref = rng.normal(0.0, 1.0, 1000)
    detector = PageHinkleyDetector().fit(ref)
    assert detector.to_profile()["scale"] / ref.std(ddof=1) < 1.1
    score = detector.score(np.r_[rng.normal(0.0, 1.0, 1000), rng.normal(1.0, 1.0, 1000)])
    assert score.details["first_detection"] is not None and 1000 <= score.details["first_detection"] < 1300


def test_the_state_round_trips_and_an_old_state_loads_as_it_was_saved() -> None:
    rng = np.random.default_rng(9)
    ref, stream = ar1(rng, 1000, 0.8), ar1(rng, 4000, 0.8) + np.r_[np.zeros(2000), np.full(2000, 2.5)]
    batches = [stream[i : i + 500] for i in range(0, stream.size, 500)]
    whole = detection_rows(PageHinkleyDetector().fit(ref), batches)
    assert whole
    detector, restarted, offset = PageHinkleyDetector().fit(ref), [], 0
    for batch in batches:
        restarted += [offset + r for r in detector.score(batch).details["detections"]]
        offset += batch.size
        detector = PageHinkleyDetector.from_profile(json.loads(json.dumps(detector.to_profile(), allow_nan=False)))
        assert isinstance(detector.river, PageHinkley) and detector.river.rho > 0.7
    assert restarted == whole
    # A state saved before the option existed: river's class, no rho, no parameter. It is
    # rebuilt with autocorrelation off (not the newer default), with the scale it was saved with.
    old = PageHinkleyDetector(autocorrelation=False).fit(ref).to_profile()
    del old["state"]["rho"], old["state"]["autocorrelation"], old["params"]["autocorrelation"]
    loaded = PageHinkleyDetector.from_profile(old)
    assert loaded.params["autocorrelation"] is False and loaded.river.rho == 0.0
    assert "autocorrelation" not in loaded.score([]).details
    plain = detection_rows(PageHinkleyDetector(autocorrelation=False).fit(ref), batches)
    assert detection_rows(loaded, batches) == plain


def test_rivers_defaults_leave_the_scaling_off() -> None:
    theirs = river_defaults(PageHinkleyDetector)
    assert theirs.params == {
        "min_instances": 30,
        "delta": 0.005,
        "threshold": 50.0,
        "alpha": 0.9999,
        "mode": "both",
        "autocorrelation": False,
    }


def test_a_wrong_autocorrelation_value_names_the_parameter() -> None:
    with pytest.raises(ValueError, match="page_hinkley: parameter autocorrelation"):
        PageHinkleyDetector(autocorrelation="yes")  # type: ignore[arg-type]
