"""Change point metrics (F1 with a margin, covering) against hand-computed examples; the vendored TCPD series."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from arlequin_river import AdwinDetector, PageHinkleyDetector
from arlequin_river.evaluation import covering, detections, f1_score, load_tcpd, segments, true_positives

TCPD = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "tcpd"


def test_f1_counts_the_start_and_each_prediction_once() -> None:
    # X = {0, 9, 21, 22, 40}; union T* = {0, 10, 20}: 0-0, 10-9, 20-21 -> P = 3/5.
    # Annotator a {0, 10, 20}: 3/3; b {0, 20}: 2/2 -> R = 1; F1 = 2 * 0.6 / 1.6 = 0.75.
    p, r, f = f1_score({"a": [10, 20], "b": [20]}, [9, 21, 22, 40], n=50)
    assert (p, r) == (pytest.approx(0.6), pytest.approx(1.0))
    assert f == pytest.approx(0.75)


def test_f1_two_detections_near_one_change_point_find_it_once() -> None:
    # X = {0, 8, 12}, T = {0, 10}: 2 true positives of 3 -> P = 2/3, R = 1, F1 = 0.8.
    assert f1_score({"a": [10]}, [8, 12], n=30) == pytest.approx((2 / 3, 1.0, 0.8))


def test_f1_margin_is_inclusive() -> None:
    assert f1_score({"a": [10]}, [15], n=30, margin=5)[1] == pytest.approx(1.0)
    assert f1_score({"a": [10]}, [16], n=30, margin=5)[1] == pytest.approx(0.5)
    assert f1_score({"a": [10]}, [10], n=30, margin=0)[1] == pytest.approx(1.0)


def test_never_firing_has_precision_one_and_recall_of_the_start_alone() -> None:
    # X = {0}; a: {0, 10, 20} -> 1/3; b: {0} -> 1; R = 2/3; F1 = 2 * (2/3) / (5/3) = 0.8.
    assert f1_score({"a": [10, 20], "b": []}, [], n=30) == pytest.approx((1.0, 2 / 3, 0.8))


def test_true_positives_is_a_largest_one_to_one_matching() -> None:
    # Matching 5 to its nearest prediction (3) would leave 8 unmatched (|8 - 2| > 5);
    # 5-2 and 8-3 matches both.
    assert true_positives([5, 8], [2, 3], margin=5) == 2
    assert true_positives([5, 8], [3], margin=5) == 1
    assert true_positives([], [1, 2], margin=5) == 0
    with pytest.raises(ValueError, match="margin"):
        true_positives([1], [1], margin=-1)


def test_segments_cut_at_change_points() -> None:
    assert segments([5, 2], 10) == [(0, 2), (2, 5), (5, 10)]
    assert segments([], 4) == [(0, 4)]
    assert segments([0], 4) == [(0, 4)]


def test_covering_by_hand() -> None:
    # Truth [0,5) [5,10); predicted [0,4) [4,10): 5 * 4/5 + 5 * 5/6 = 49/6, / 10 = 49/60.
    assert covering({"a": [5]}, [4], n=10) == pytest.approx(49 / 60)
    # b: one segment [0,10), best overlap [4,10): 6/10. Mean over annotators = (49/60 + 36/60) / 2.
    assert covering({"a": [5], "b": []}, [4], n=10) == pytest.approx(17 / 24)
    assert covering({"a": [3, 7]}, [3, 7], n=10) == pytest.approx(1.0)
    assert covering({"a": []}, [], n=10) == pytest.approx(1.0)
    # Never firing against [0,5) [5,10): each half covered by [0,10) at 1/2.
    assert covering({"a": [5]}, [], n=10) == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: f1_score({}, [1]), "at least one annotator"),
        (lambda: f1_score({"a": [3]}, [12], n=10), "predictions: location 12 is outside the series"),
        (lambda: f1_score({"a": [1.5]}, [1]), "must be integers"),
        (lambda: covering({"a": [3]}, [-1], n=10), "location -1"),
        (lambda: covering({"a": []}, [], n=0), "at least one row"),
    ],
)
def test_metric_errors_say_what_is_wrong(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


def test_detections_warm_up_then_pool_the_columns() -> None:
    rng = np.random.default_rng(5)
    quiet = rng.normal(0.0, 1.0, 600)
    jump = np.concatenate([rng.normal(0.0, 1.0, 300), rng.normal(4.0, 1.0, 300)])
    rows = detections(PageHinkleyDetector, [quiet, jump], warmup=100)
    assert rows and 300 <= rows[0] < 400
    assert detections(PageHinkleyDetector, [quiet], warmup=100) == []
    # Same as one detector fitted on the warm-up, scoring the rest in one batch.
    whole = AdwinDetector().fit(jump[:100]).score(jump[100:]).details
    assert detections(AdwinDetector, [jump], warmup=100) == [100 + r for r in whole["change_starts"]]
    assert detections(AdwinDetector, [jump], warmup=100, at="detections") == [100 + r for r in whole["detections"]]


def test_vendored_tcpd_files_are_tcpds_bytes() -> None:
    sums = json.loads((TCPD / "checksums.json").read_text())["checksums"]
    annotations = json.loads((TCPD / "annotations.json").read_text())
    assert len(sums) == 12 and set(annotations) == {name.removesuffix(".json") for name in sums}
    notice = (TCPD / "NOTICE.md").read_text()
    for name, md5 in sums.items():
        assert hashlib.md5((TCPD / name).read_bytes()).hexdigest() == md5, name
        assert f"`{name}`" in notice, f"{name} has no source and licence line in NOTICE.md"


def test_load_tcpd_reads_values_and_annotations() -> None:
    annotations = json.loads((TCPD / "annotations.json").read_text())
    series = load_tcpd(TCPD / "well_log.json", annotations)
    assert series.name == "well_log" and series.n == 675 and len(series.columns) == 1
    assert series.annotations["6"][0] == 179
    assert np.isfinite(series.columns[0]).all()


def test_load_tcpd_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text(json.dumps({"name": "x", "n_obs": 3, "series": [{"raw": [1, 2]}]}))
    with pytest.raises(ValueError, match=r"x\.json: n_obs is 3"):
        load_tcpd(bad, {"x": {}})
    bad.write_text(json.dumps({"name": "x", "n_obs": 2, "series": [{"raw": [1, None]}]}))
    with pytest.raises(ValueError, match=r"x\.json: no annotations for series 'x'"):
        load_tcpd(bad, {})
    with pytest.raises(ValueError, match=r"x\.json: annotator 1: location 5"):
        load_tcpd(bad, {"x": {"1": [5]}})
    assert np.isnan(load_tcpd(bad, {"x": {"1": [1]}}).columns[0][1])
    bad.write_text(json.dumps({"name": "x"}))
    with pytest.raises(ValueError, match=r"x\.json: not a TCPD series file"):
        load_tcpd(bad, {"x": {}})
