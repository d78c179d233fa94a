"""The reference fit sorts each numeric column once: the summary and effect reference computed
from the sorted values are the ones computed from the rows in their order."""

from __future__ import annotations

import numpy as np
import pytest

from arlequin_core.drift.columns import sorted_values
from arlequin_core.drift.encoding import to_json_tree
from arlequin_core.drift.profile import effect_reference
from arlequin_core.drift.summary import sorted_quantiles, summarize


def columns() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    with_specials = rng.normal(size=5000)
    with_specials[rng.choice(5000, 50, replace=False)] = np.nan
    with_specials[:3] = [np.inf, -np.inf, np.inf]
    return {
        "normal": rng.normal(size=20_000),
        "ties": rng.integers(0, 7, 10_000).astype(np.float64),
        "lognormal": rng.lognormal(0, 2, 10_000),  # log-scale bins
        "specials": with_specials,
        "constant": np.full(100, 2.5),
        "one": np.array([3.0]),
        "only_inf": np.array([np.inf, -np.inf, np.nan]),
    }


@pytest.mark.parametrize("name", list(columns()))
def test_summary_and_effect_from_sorted_values_are_the_same(name):
    values = columns()[name]
    ordered = sorted_values(values)
    assert summarize(ordered, "numeric", presorted=True) == summarize(values, "numeric")
    assert to_json_tree(effect_reference(ordered, "numeric", presorted=True)) == to_json_tree(
        effect_reference(values, "numeric")
    )


@pytest.mark.parametrize("n", [1, 2, 3, 999, 1000, 12_345])
def test_sorted_quantiles_equal_numpy_bit_for_bit(n):
    ordered = np.sort(np.random.default_rng(n).standard_cauchy(n))
    qs = [0.0, 0.001, 0.25, 0.5, 0.999, 1.0]
    assert sorted_quantiles(ordered, qs).tobytes() == np.quantile(ordered, qs).tobytes()
