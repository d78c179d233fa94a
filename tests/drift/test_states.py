"""Bounded chunk states: unseen-category overflow, the values fallback, cut counts."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats

from arlequin_core.drift.base import Detector, DetectorInfo, Score, ValuesState, state_kind
from arlequin_core.drift.categories import KMV_SIZE, UNSEEN_CAP, CategoryIndex, hash_keys, key_array
from arlequin_stats.chi2 import ChiSquared
from arlequin_stats.psi import PopulationStabilityIndex


def _ids(start: int, stop: int) -> list[str]:
    return [f"id-{i}" for i in range(start, stop)]


def test_chi2_statistic_stays_exact_when_unseen_categories_overflow():
    rng = np.random.default_rng(0)
    reference = pa.array(rng.choice(["a", "b", "c"], 5000).tolist())
    chi2 = ChiSquared().fit(reference)
    known = rng.choice(["a", "b", "c"], 30_000).tolist()
    unseen = _ids(0, 3 * UNSEEN_CAP) * 2 + _ids(0, 50)  # 12 288 distinct, the first 50 three times
    batch = pa.array(known + unseen)
    halves = [chi2.chunk_state(batch.slice(0, 20_000)), chi2.chunk_state(batch.slice(20_000))]
    state = chi2.merge_states(*halves)
    assert not state.unseen.exact and state.unseen.rows == len(unseen)
    score = chi2.score_state(state)
    exact = chi2.score(batch)
    assert score.statistic == pytest.approx(exact.statistic, rel=1e-9)
    lo, hi = score.details["p_value_range"]
    assert lo <= score.p_value <= hi and lo <= exact.p_value <= hi
    assert abs(score.details["unseen_categories"] - 3 * UNSEEN_CAP) <= 3 * score.details["unseen_categories_std_error"]
    # The three-times keys are the heaviest: Misra-Gries keeps them.
    assert set(_ids(0, 50)) <= set(score.details["unseen"]) or len(score.details["unseen"]) == 20
    assert exact.details["dof"] == 2 + 3 * UNSEEN_CAP
    assert stats.chi2.sf(exact.statistic, exact.details["dof"]) == pytest.approx(exact.p_value)


def test_unseen_summary_is_exact_below_the_cap_and_split_invariant():
    index = CategoryIndex(["a", "b"])
    values = pa.array(["a", "x", None, "y", "x", "b", "z"] * 50)
    whole = index.counts(values)
    parts = [index.counts(values.slice(i, 33)) for i in range(0, len(values), 33)]
    merged = parts[0]
    for part in parts[1:]:
        merged = merged.merge(part)
    assert whole.unseen.exact and merged.unseen.exact
    assert merged.observed(["a", "b"]) == whole.observed(["a", "b"]) == {"a": 50, "b": 50, "x": 100, "y": 50, "z": 50}
    assert merged.unseen.distinct() == (3.0, 0.0)


def test_distinct_sketch_estimates_an_identifier_column():
    index = CategoryIndex(["a"])
    state = index.counts(pa.array(_ids(0, 100_000)))
    for start in range(100_000, 200_000, 25_000):
        state = state.merge(index.counts(pa.array(_ids(start - 5_000, start + 25_000))))
    estimate, error = state.unseen.distinct()
    assert state.unseen.hashes.size == KMV_SIZE and not state.unseen.exact
    assert abs(estimate - 200_000) <= 4 * error and error < 0.02 * estimate
    assert state.unseen.keys.size <= UNSEEN_CAP


def test_keys_and_hashes_follow_category_key():
    assert key_array(pa.array([1, None, 3])).to_pylist() == ["1", None, "3"]
    assert key_array(pa.array([1.0, 2.5, float("nan")])).to_pylist() == ["1", "2.5", None]
    assert key_array(pa.array([True, False])).to_pylist() == ["True", "False"]
    assert key_array(pa.array(["u", "v"]).dictionary_encode()).to_pylist() == ["u", "v"]
    a = hash_keys(pa.array(["", "a", "ab", "ba", "é"]))
    assert len(set(a.tolist())) == 5
    assert (hash_keys(pa.array(["x", "ab"]).slice(1)) == hash_keys(pa.array(["ab"]))).all()


class _Median(Detector):
    """A third-party detector with no state methods: it falls back to keeping values."""

    info = DetectorInfo(
        name="median", display_name="median", kinds=frozenset({"numeric"}), score="distance", default_threshold=1.0
    )

    def fit(self, reference):
        self.m = float(np.nanmedian(reference))
        return self

    def score(self, current):
        return Score(statistic=abs(float(np.nanmedian(current)) - self.m))

    def to_profile(self):
        return {"m": self.m}

    @classmethod
    def from_profile(cls, profile):
        d = cls()
        d.m = profile["m"]
        return d


def test_a_detector_without_states_falls_back_to_its_values():
    d = _Median().fit(np.arange(10.0))
    assert state_kind(d, "numeric") == "values"
    values = np.array([1.0, np.nan, 8.0, 9.0, 20.0])
    state = d.merge_states(d.chunk_state(values[:2]), d.chunk_state(values[2:]))
    assert isinstance(state, ValuesState)
    assert d.score_state(state).statistic == d.score(values).statistic


def test_a_subclass_that_rescores_does_not_inherit_count_states():
    class Rescored(PopulationStabilityIndex):
        def score(self, current):
            return Score(statistic=0.0)

    assert state_kind(Rescored().fit(np.arange(100.0)), "numeric") == "values"
    assert state_kind(PopulationStabilityIndex().fit(np.arange(100.0)), "numeric") == "cuts"
