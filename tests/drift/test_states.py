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


def _same_state(ours, theirs) -> None:
    assert ours.counts.tolist() == theirs.counts.tolist()
    a, b = ours.unseen, theirs.unseen
    assert (a.rows, a.dropped) == (b.rows, b.dropped)
    assert a.keys.tolist() == b.keys.tolist() and a.counts.tolist() == b.counts.tolist()
    assert a.hashes.tolist() == b.hashes.tolist()


def _chunks(rng: np.random.Generator) -> dict[str, pa.Array]:
    ids = np.char.add("u", rng.integers(0, 60_000, 20_000).astype(str))
    return {
        "identifiers": pa.array(ids),
        "identifiers with nulls": pa.array(ids.tolist(), mask=rng.random(ids.size) < 0.1),
        "few unseen": pa.array([f"k{i}" for i in rng.integers(0, 300, 5000)] + ["new", "", "new"] * 40),
        "dictionary": pa.array(
            [f"k{i}" for i in rng.integers(0, 400, 5000)], mask=rng.random(5000) < 0.05
        ).dictionary_encode(),
        "integers": pa.array(rng.integers(0, 500, 3000)),
        "floats": pa.array([1.0, 2.5, float("nan"), None, 0.0, -0.0, 3.25] * 30),
        "sliced": pa.array(ids).slice(1234, 5000),
        "chunked": pa.chunked_array([pa.array(ids[:100]), pa.array(ids[100:300])]),
    }


@pytest.mark.parametrize("reference", ["small", "large"])
def test_every_way_of_counting_a_chunk_gives_arrows_exact_state(reference, monkeypatch):
    """Dictionary indices, hashed lookups and Arrow's index_in + value_counts: one state."""
    import arlequin_core.drift.categories as categories

    rng = np.random.default_rng(5)
    keys = [f"k{i}" for i in range(300)] + ["0", "1", "2.5", "7"] + [f"u{i}" for i in range(0, 60_000, 3)]
    if reference == "large":  # below the cap on purpose: the hashed path runs on a small reference too
        monkeypatch.setattr(categories, "DICTIONARY_MAX", 10)
    index = CategoryIndex(keys)
    for name, chunk in _chunks(rng).items():
        plain = key_array(chunk.combine_chunks() if isinstance(chunk, pa.ChunkedArray) else chunk)
        for unseen in (True, False):
            _same_state(index.counts(chunk, unseen=unseen), index._arrow_counts(plain, unseen))
        assert name and index.counts(chunk).n == len(chunk) - plain.null_count


def test_a_hash_collision_never_miscounts(monkeypatch):
    """With a hash that collides everywhere (the key's length), the string check catches it: exact counts."""
    import arlequin_core.drift.categories as categories

    def by_length(keys: pa.Array) -> np.ndarray:
        return np.asarray(pa.compute.utf8_length(keys.cast(pa.string())).fill_null(0), dtype=np.uint64)

    monkeypatch.setattr(categories, "DICTIONARY_MAX", 0)
    monkeypatch.setattr(categories, "hash_keys", by_length)
    reference = CategoryIndex(["a", "bb"])  # distinct hashes 1 and 2: the hashed lookup is built
    chunk = pa.array(["a", "b", "bb", "cc", "a", "ddd", "b"])
    state = reference.counts(chunk)
    assert state.counts.tolist() == [2, 1]
    assert state.observed(["a", "bb"]) == {"a": 2, "bb": 1, "b": 2, "cc": 1, "ddd": 1}
    colliding = CategoryIndex(["a", "b"])  # reference keys that collide: Arrow's lookups only
    assert colliding.counts(chunk).observed(["a", "b"]) == {"a": 2, "b": 2, "bb": 1, "cc": 1, "ddd": 1}


def test_hashes_spread_identifiers_without_collisions():
    ids = pa.array(np.char.add("u", np.arange(200_000).astype(str)))
    hashed = hash_keys(ids)
    assert np.unique(hashed).size == len(ids)
    # Top bits (the lookup table's slots) are spread evenly: no slot of 2**10 far above its share.
    slots = np.bincount((hashed >> np.uint64(54)).astype(np.int64), minlength=1024)
    assert slots.max() < 2 * len(ids) / 1024
    long = pa.array(["x" * 40 + str(i) for i in range(1000)] + ["é" * 9, "\x00", "", "\x00\x00"])
    assert np.unique(hash_keys(long)).size == len(long)
