"""Each river detector finds a clear change, stays quiet on an identical copy, and handles missing values."""

from __future__ import annotations

import doctest
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from river_streams import ALL_DETECTORS, ERROR_DETECTORS, VALUE_DETECTORS, changed, fired, reference

import arlequin_river
from arlequin_core.drift.base import Detector, Score
from arlequin_river import codec, error_rate, online, params, value


@pytest.mark.parametrize("cls", ALL_DETECTORS, ids=lambda c: c.info.name)
def test_detector_finds_a_clear_change_after_it_happened(cls: type) -> None:
    detector = cls().fit(reference(cls))
    score = detector.score(changed(cls))
    assert isinstance(score, Score)
    assert score.statistic >= cls.info.default_threshold
    first = score.details["first_detection"]
    assert 500 <= first < 700, f"{cls.info.name} fired at row {first}; the change is at row 500"
    assert score.details["detections"][0] == first
    assert score.statistic == score.details["n_detections"]


@pytest.mark.parametrize("cls", ALL_DETECTORS, ids=lambda c: c.info.name)
def test_detector_is_quiet_on_an_identical_copy(cls: type) -> None:
    ref = reference(cls, seed=3)
    detector = cls().fit(ref)
    score = detector.score(ref.copy())
    assert score.statistic == 0.0
    assert score.details["detections"] == []
    assert score.details["first_detection"] is None


@pytest.mark.parametrize("cls", ALL_DETECTORS, ids=lambda c: c.info.name)
def test_missing_values_are_skipped_counted_and_rows_keep_their_index(cls: type) -> None:
    ref = reference(cls)
    ref_with_gaps = ref.copy()
    ref_with_gaps[::10] = np.nan
    batch = changed(cls)
    gappy = np.insert(batch, [0, 0, 250, 600], [np.nan, np.inf, np.nan, -np.inf])

    clean = cls().fit(ref[~np.isnan(ref_with_gaps)]).score(batch)
    detector = cls().fit(ref_with_gaps)
    assert detector.to_profile()["reference_missing"] == 100
    score = detector.score(gappy)

    assert score.details["n_missing"] == 4
    assert score.details["n_used"] == batch.size
    assert score.details["rows"] == gappy.size
    assert score.statistic == clean.statistic
    # Rows are positions in the batch as given, missing rows included.
    clean_rows = np.asarray(clean.details["detections"])
    shift = 2 + (clean_rows >= 250).astype(int) + (clean_rows >= 598).astype(int)
    assert score.details["detections"] == (clean_rows + shift).tolist()
    assert all(np.isfinite(gappy[r]) for r in score.details["detections"])


@pytest.mark.parametrize("cls", ALL_DETECTORS, ids=lambda c: c.info.name)
def test_reference_without_values_is_refused_empty_batches_are_not(cls: type) -> None:
    with pytest.raises(ValueError, match=rf"{cls.info.name}: the reference has no value to warm up on \(2 rows"):
        cls().fit(np.array([np.nan, np.nan]))
    detector = cls().fit(reference(cls))
    empty = detector.score(np.array([], dtype=float))
    assert empty.statistic == 0.0 and empty.details["rows"] == 0
    missing = detector.score([None, None, None])
    assert missing.details["n_missing"] == 3 and missing.statistic == 0.0


@pytest.mark.parametrize("cls", VALUE_DETECTORS, ids=lambda c: c.info.name)
def test_value_detectors_do_not_depend_on_the_unit(cls: type) -> None:
    ref, batch = reference(cls), changed(cls)
    in_units = cls().fit(ref).score(batch)
    in_thousandths = cls().fit(ref * 1000 + 7).score(batch * 1000 + 7)
    assert in_units.details["detections"] == in_thousandths.details["detections"]


@pytest.mark.parametrize("cls", VALUE_DETECTORS, ids=lambda c: c.info.name)
def test_constant_reference_keeps_unit_scale(cls: type) -> None:
    detector = cls().fit(np.full(300, 4.0))
    profile = detector.to_profile()
    assert profile["location"] == 4.0 and profile["scale"] == 1.0
    assert detector.score(np.full(300, 4.0)).statistic == 0.0


def test_accepts_pyarrow_pandas_and_lists_alike() -> None:
    cls = arlequin_river.AdwinDetector
    ref, batch = reference(cls), changed(cls)
    expected = cls().fit(ref).score(batch).details["detections"]
    chunked = pa.chunked_array([pa.array(batch[:300]), pa.array(batch[300:])])
    assert cls().fit(pa.array(ref)).score(chunked).details["detections"] == expected
    assert cls().fit(pd.Series(ref)).score(pd.Series(batch)).details["detections"] == expected
    assert cls().fit(ref.tolist()).score(batch.tolist()).details["detections"] == expected
    nullable = pd.Series([1, None, 3], dtype="Int64")
    assert cls().fit(ref).score(nullable).details["n_missing"] == 1


def test_timestamps_of_detection_rows_are_reported() -> None:
    cls = arlequin_river.AdwinDetector
    batch = changed(cls)
    stamps = pd.date_range("2025-03-01", periods=batch.size, freq="min", tz="UTC")
    score = cls().fit(reference(cls)).score(batch, timestamps=pd.Series(stamps))
    rows = score.details["detections"]
    assert rows
    assert score.details["timestamps"] == [stamps[r].isoformat() for r in rows]
    arrow = cls().fit(reference(cls)).score(batch, timestamps=pa.array(stamps.to_pydatetime()))
    assert arrow.details["timestamps"] == score.details["timestamps"]


def test_timestamps_of_another_length_are_refused() -> None:
    cls = arlequin_river.AdwinDetector
    detector = cls().fit(reference(cls))
    before = detector.to_profile()
    with pytest.raises(ValueError, match="timestamps: 3 values for a batch of 1000 rows"):
        detector.score(changed(cls), timestamps=["a", "b", "c"])
    assert detector.to_profile() == before, "a refused batch leaves the state as it was"


def test_score_before_fit_is_an_error_naming_the_detector() -> None:
    with pytest.raises(RuntimeError, match="kswin: call fit"):
        arlequin_river.KswinDetector().score([1.0, 2.0])


def test_non_numeric_values_are_a_clear_error() -> None:
    detector = arlequin_river.AdwinDetector().fit(reference(arlequin_river.AdwinDetector))
    with pytest.raises(ValueError, match="adwin: batch: expected numbers"):
        detector.score(pa.array(["a", "b"]))


@pytest.mark.parametrize("cls", ERROR_DETECTORS, ids=lambda c: c.info.name)
def test_error_detectors_refuse_values_other_than_0_and_1(cls: type) -> None:
    detector = cls().fit(reference(cls))
    before = detector.to_profile()
    with pytest.raises(ValueError, match=rf"{cls.info.name}: batch row 2: .*0 \(right\) or 1 \(wrong\), got 0.5"):
        detector.score([0.0, 1.0, 0.5, 1.0])
    assert detector.to_profile() == before
    with pytest.raises(ValueError, match="reference row 1"):
        cls().fit([0, 2])


@pytest.mark.parametrize("cls", ERROR_DETECTORS, ids=lambda c: c.info.name)
def test_error_detectors_report_where_the_warning_zone_began(cls: type) -> None:
    score = cls().fit(reference(cls)).score(changed(cls))
    warnings = score.details["warnings"]
    assert score.details["n_warnings"] == len(warnings) >= 1
    assert all(isinstance(r, int) and 500 <= r < 1000 for r in warnings)
    assert warnings[0] <= score.details["first_detection"], "the warning zone begins before the detection"


def test_error_stream_compares_labels_and_predictions() -> None:
    errors = arlequin_river.error_stream(pa.array(["a", "b", None, "c"]), ["a", "c", "b", "c"])
    assert np.array_equal(errors, [0.0, 1.0, np.nan, 0.0], equal_nan=True)
    regression = arlequin_river.error_stream([1.0, 2.0, np.nan], [1.4, 3.0, 1.0], tolerance=0.5)
    assert np.array_equal(regression, [0.0, 1.0, np.nan], equal_nan=True)
    with pytest.raises(ValueError, match="differ in length"):
        arlequin_river.error_stream([1, 0], [1])
    with pytest.raises(ValueError, match="cannot compare labels"):
        arlequin_river.error_stream(["a"], [1.5])


def test_listed_detections_are_capped_but_counted() -> None:
    cls = arlequin_river.PageHinkleyDetector
    detector = cls(threshold=0.001, min_instances=1).fit(reference(cls))
    score = detector.score(changed(cls, before=2000, after=2000))
    assert score.statistic > online.MAX_LISTED
    assert len(score.details["detections"]) == online.MAX_LISTED


@pytest.mark.parametrize("cls", ALL_DETECTORS, ids=lambda c: c.info.name)
def test_detector_metadata_is_online_distance_threshold_one(cls: type) -> None:
    assert issubclass(cls, Detector)
    assert cls.info.online is True
    assert cls.info.score == "distance" and cls.info.default_threshold == 1.0
    assert cls.info.kinds == frozenset({"numeric"})
    json.dumps(cls().params)


@pytest.mark.parametrize("module", [arlequin_river, codec, error_rate, online, params, value])
def test_docstring_examples_run(module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_change_starts_estimate_where_the_change_began() -> None:
    rng = np.random.default_rng(11)
    ref = rng.normal(50.0, 5.0, 1000)
    batch = np.concatenate([rng.normal(50.0, 5.0, 500), rng.normal(60.0, 5.0, 500)])
    for cls in (value.AdwinDetector, value.KswinDetector, value.PageHinkleyDetector):
        details = cls().fit(ref).score(batch).details
        # The least-squares split of the values since fit: near row 500, before the detection.
        assert len(details["change_starts"]) == len(details["detections"]) >= 1, cls.info.name
        assert 495 <= details["change_starts"][0] <= 505 < details["detections"][0], cls.info.name
    assert (
        "change_starts"
        not in error_rate.DdmDetector()
        .fit(reference(error_rate.DdmDetector))
        .score(changed(error_rate.DdmDetector))
        .details
    )


@pytest.mark.parametrize("cls", [value.AdwinDetector, value.KswinDetector, value.PageHinkleyDetector])
def test_change_start_before_the_batch_is_negative_and_survives_a_restart(cls: type) -> None:
    rng = np.random.default_rng(12)
    ref = rng.normal(0.0, 1.0, 1000)
    shifted = rng.normal(2.0, 1.0, 400)
    first, second = np.concatenate([rng.normal(0.0, 1.0, 380), shifted[:20]]), shifted[20:]
    detector = cls().fit(ref)
    assert detector.score(first).details["detections"] == []
    restored = cls.from_profile(json.loads(json.dumps(detector.to_profile())))
    details = restored.score(second).details
    assert details == detector.score(second).details
    assert details["detections"] and -25 <= details["change_starts"][0] <= -15  # began 20 values before the batch
    # Rows are batch rows when values are missing in the batch.
    gappy = cls().fit(ref)
    gappy.score(first)
    with_gap = gappy.score(np.concatenate([[np.nan] * 5, second])).details
    assert with_gap["detections"] == [d + 5 for d in details["detections"]]
    assert with_gap["change_starts"][0] == details["change_starts"][0]
    # Missing values inside the batch, before the change start: a batch row, not a value position.
    holes = cls().fit(ref)
    holes.score(first[:300])
    rest = np.concatenate([first[300:], second])
    plain = holes.from_profile(holes.to_profile()).score(rest).details
    holed = holes.score(np.concatenate([rest[:10], [np.nan] * 3, rest[10:]])).details
    assert plain["change_starts"][0] >= 10
    assert holed["change_starts"][0] == plain["change_starts"][0] + 3


def test_growing_kswin_without_grow_is_rivers_kswin() -> None:
    from river import drift

    rng = np.random.default_rng(11)
    stream = np.concatenate([rng.normal(0, 1, 700), rng.normal(0, 3, 700), rng.normal(2, 1, 700)]).tolist()
    ours = fired(value.GrowingKSWIN(alpha=0.005, window_size=100, stat_size=30, seed=5, grow=False), stream)
    theirs = fired(drift.KSWIN(alpha=0.005, window_size=100, stat_size=30, seed=5), stream)
    assert ours == theirs and len(ours) >= 2


def test_growing_kswin_tests_before_its_window_is_full() -> None:
    # A change at value 100 of a 400-value stream: river's KSWIN with a window of 500
    # never tests; the growing window tests from 2 * stat_size = 60 values on.
    rng = np.random.default_rng(12)
    stream = np.concatenate([rng.normal(0, 1, 100), rng.normal(3, 1, 300)]).tolist()
    params = {"alpha": 1e-5, "window_size": 500, "stat_size": 30, "seed": 1}
    assert fired(value.GrowingKSWIN(**params, grow=False), stream) == []
    hits = fired(value.GrowingKSWIN(**params, grow=True), stream)
    assert hits and 100 <= hits[0] < 160
