"""Effect sizes (arlequin_core.drift.effect) against scipy, and their merge property."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon
from scipy.stats.contingency import association

from arlequin_core.drift.effect import (
    CategoricalReference,
    NumericBatch,
    NumericReference,
    categorical_effects,
    numeric_effects,
)


def _numeric(ref: np.ndarray, cur: np.ndarray) -> dict[str, float]:
    reference = NumericReference.fit(ref)
    return numeric_effects(reference, NumericBatch.from_values(cur, reference.cuts))


def _samples():
    rng = np.random.default_rng(42)
    yield "normal shift", rng.normal(size=5000), rng.normal(0.3, 1.0, size=3000)
    yield "no change", rng.normal(size=20000), rng.normal(size=20000)
    yield "scale", rng.lognormal(size=4000), 1.5 * rng.lognormal(size=4000)
    yield "ties", rng.integers(0, 8, 3000).astype(float), rng.integers(0, 9, 2000).astype(float)
    yield "tiny", np.array([1.0, 2.0, 3.5]), np.array([0.5, 2.5])
    yield "one value", np.array([4.0]), np.array([4.0, 5.0, 6.0])
    yield "outliers beyond the range", rng.normal(size=3000), np.append(rng.normal(size=2990), [50.0] * 10)
    yield "huge", rng.normal(size=1_000_000), rng.normal(0.01, 1.0, size=1_000_000)


@pytest.mark.parametrize(("case", "ref", "cur"), list(_samples()), ids=[c for c, _, _ in _samples()])
def test_numeric_effects_bracket_scipy(case, ref, cur):
    effects = _numeric(ref, cur)
    d = stats.ks_2samp(ref, cur).statistic
    with np.errstate(divide="ignore"):
        w = stats.wasserstein_distance(ref, cur) / np.std(ref)
    assert effects["ks_d"] <= d + 1e-12, case
    assert d <= effects["ks_d"] + effects["ks_d_bound"] + 1e-12, case
    assert effects["wasserstein"] <= w * (1 + 1e-9) + 1e-12, case
    assert w <= (effects["wasserstein"] + effects["wasserstein_bound"]) * (1 + 1e-9) + 1e-12, case
    # The bounds are tight where they matter: a shift of half a cell in probability at most.
    if len(ref) >= 1000:  # a tiny sample has cells of a third of its mass: the bound is honest, not tight
        assert effects["ks_d_bound"] <= 0.01, case
        assert effects["wasserstein"] == pytest.approx(w, rel=0.05, abs=0.002), case


def test_discrete_columns_are_exact():
    rng = np.random.default_rng(1)
    ref = rng.integers(18, 96, 50_000).astype(float)
    cur = rng.integers(20, 90, 10_000).astype(float)
    effects = _numeric(ref, cur)
    assert effects["ks_d"] == pytest.approx(stats.ks_2samp(ref, cur).statistic, abs=1e-12)
    assert effects["ks_d_bound"] == 0.0
    assert effects["wasserstein"] == pytest.approx(stats.wasserstein_distance(ref, cur) / np.std(ref), rel=1e-9)
    assert effects["wasserstein_bound"] == pytest.approx(0.0, abs=1e-12)


def test_sorted_and_unsorted_states_agree_and_merge():
    rng = np.random.default_rng(3)
    reference = NumericReference.fit(rng.normal(size=10_000))
    cur = np.append(rng.normal(0.2, 1.3, size=7_000), [np.inf, -np.inf, np.nan, 99.0, -99.0])
    whole = NumericBatch.from_values(cur, reference.cuts)
    ordered = np.sort(cur[~np.isnan(cur)])
    fast = NumericBatch.from_sorted(ordered, reference.cuts)
    np.testing.assert_array_equal(whole.counts, fast.counts)
    np.testing.assert_allclose(whole.offsets, fast.offsets, rtol=1e-9, atol=1e-9)
    parts = [NumericBatch.from_values(chunk, reference.cuts) for chunk in np.array_split(cur, 7)]
    merged = parts[0]
    for part in parts[1:]:
        merged = merged.merge(part)
    np.testing.assert_array_equal(merged.counts, whole.counts)
    a, b = numeric_effects(reference, merged), numeric_effects(reference, whole)
    assert a == pytest.approx(b, rel=1e-9, abs=1e-12)


def test_reference_round_trips_through_json():
    import json

    from arlequin_core.drift.encoding import to_json_tree

    reference = NumericReference.fit(np.random.default_rng(0).exponential(size=5000))
    again = NumericReference.from_dict(json.loads(json.dumps(to_json_tree(reference.to_dict()))))
    batch = NumericBatch.from_values(np.random.default_rng(1).exponential(size=300), reference.cuts)
    assert numeric_effects(again, batch) == numeric_effects(reference, batch)


def test_constant_reference():
    reference = NumericReference.fit(np.full(100, 3.0))
    same = numeric_effects(reference, NumericBatch.from_values(np.full(10, 3.0), reference.cuts))
    moved = numeric_effects(reference, NumericBatch.from_values(np.array([3.0, 4.0]), reference.cuts))
    assert same["wasserstein"] == 0.0 and same["ks_d"] == 0.0
    assert moved["wasserstein"] == float("inf") and moved["ks_d"] == pytest.approx(0.5)


def _categorical_cases():
    rng = np.random.default_rng(7)
    cats = np.array(list("abcdefghij"))
    p = rng.dirichlet(np.ones(10))
    yield "same", rng.choice(cats, 5000, p=p), rng.choice(cats, 5000, p=p)
    yield "moved", rng.choice(cats, 5000, p=p), rng.choice(cats, 800, p=rng.dirichlet(np.ones(10)))
    yield "unseen", rng.choice(cats[:5], 2000), np.append(rng.choice(cats[:5], 900), ["x"] * 60 + ["y"] * 40)
    yield "tiny", np.array(["a", "b"]), np.array(["b"])
    yield "binary", rng.choice(["yes", "no"], 3000, p=[0.3, 0.7]), rng.choice(["yes", "no"], 3000, p=[0.4, 0.6])
    yield "huge", rng.choice(cats, 1_000_000, p=p), rng.choice(cats, 1_000_000, p=p)


def _counts(values: np.ndarray) -> dict[str, int]:
    keys, counts = np.unique(values, return_counts=True)
    return {str(k): int(c) for k, c in zip(keys, counts, strict=True)}


CATEGORICAL = list(_categorical_cases())


@pytest.mark.parametrize(("case", "ref", "cur"), CATEGORICAL, ids=[c for c, _, _ in CATEGORICAL])
def test_categorical_effects_match_scipy(case, ref, cur):
    rc, cc = _counts(ref), _counts(cur)
    effects = categorical_effects(CategoricalReference.fit(rc), cc)
    keys = sorted(set(rc) | set(cc))
    table = np.array([[rc.get(k, 0) for k in keys], [cc.get(k, 0) for k in keys]], dtype=float)
    p, q = table[0] / table[0].sum(), table[1] / table[1].sum()
    assert effects["tv"] == pytest.approx(0.5 * np.abs(p - q).sum(), abs=1e-12), case
    assert effects["jensen_shannon"] == pytest.approx(jensenshannon(p, q, base=2), abs=1e-7), case
    expected_v = association(table.astype(int), method="cramer") if len(keys) > 1 else 0.0
    assert effects["cramers_v"] == pytest.approx(expected_v, abs=1e-9), case


def test_binary_column_has_the_same_primary_effect_either_kind():
    rng = np.random.default_rng(5)
    ref, cur = (rng.random(4000) < 0.3).astype(float), (rng.random(3000) < 0.36).astype(float)
    numeric = _numeric(ref, cur)
    categorical = categorical_effects(CategoricalReference.fit(_counts(ref)), _counts(cur))
    assert numeric["ks_d"] == pytest.approx(categorical["tv"], abs=1e-12)


def test_unseen_rows_can_be_given_as_a_total():
    reference = CategoricalReference.fit({"a": 50, "b": 30})
    listed = categorical_effects(reference, {"a": 10, "b": 10, "x": 3, "y": 7})
    total = categorical_effects(reference, {"a": 10, "b": 10}, unseen_rows=10)
    assert listed == pytest.approx(total)
