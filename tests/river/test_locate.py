"""The change-start localiser: the least-squares split of the values since the last change."""

from __future__ import annotations

import numpy as np
import pytest

from arlequin_river.locate import change_start, split_statistic


def _brute_force(x: np.ndarray) -> tuple[int, np.ndarray]:
    """The best two-segment least-squares split, by trying every k; and each k's drop in SSE."""
    n = x.size
    total = float(((x - x.mean()) ** 2).sum())
    sse = np.array([((x[:k] - x[:k].mean()) ** 2).sum() + ((x[k:] - x[k:].mean()) ** 2).sum() for k in range(1, n)])
    return int(np.argmin(sse)) + 1, total - sse


@pytest.mark.parametrize("seed", range(20))
def test_matches_a_brute_force_two_segment_least_squares_fit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 400))
    x = rng.normal(rng.normal(0, 3), rng.uniform(0.1, 5), n)
    if seed % 2:  # half of them with a step somewhere
        x[int(rng.integers(1, n)) :] += rng.normal(0, 2)
    best, drop = _brute_force(x)
    assert change_start(x) == best
    # The statistic squared is the drop in the residual sum of squares, at every k.
    np.testing.assert_allclose(split_statistic(x) ** 2, drop, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("size", [40, 300, 3000])
@pytest.mark.parametrize("at", [0.2, 0.5, 0.9])
def test_finds_a_planted_change_within_a_few_rows(size: int, at: float) -> None:
    rng = np.random.default_rng(size)
    where = int(at * size)
    x = rng.normal(0.0, 1.0, size)
    x[where:] += 2.0
    assert abs(change_start(x) - where) <= 3


def test_a_change_in_the_last_values_is_found_even_when_few_come_after_it() -> None:
    # What a detector sees at a detection: many old values, a few new ones.
    rng = np.random.default_rng(5)
    x = np.concatenate([rng.normal(0.0, 1.0, 2000), rng.normal(3.0, 1.0, 25)])
    assert abs(change_start(x) - 2000) <= 3


def test_edges_and_degenerate_buffers() -> None:
    with pytest.raises(ValueError, match="at least one value"):
        change_start(np.array([]))
    assert change_start(np.array([4.2])) == 0  # one value: the change starts at it
    assert split_statistic(np.array([4.2])).size == 0
    assert change_start(np.array([1.0, 5.0])) == 1  # the only split
    assert change_start(np.array([1.0, 1.0, 9.0])) == 2
    assert change_start(np.array([9.0, 1.0, 1.0])) == 1
    assert change_start([0.0, 0.0, 3.0, 3.0]) == 2  # lists are taken too
    # Nothing to split on: the newest value, where the detector fired.
    assert change_start(np.full(50, 0.3)) == 49
    assert change_start(np.full(3, -2.0)) == 2


def test_ties_go_to_the_earliest_split() -> None:
    # Symmetric: k = 1 and k = 3 give the same fit.
    x = np.array([1.0, 0.0, 0.0, 1.0])
    stat = split_statistic(x)
    assert stat[0] == pytest.approx(stat[2]) and stat[0] > stat[1]
    assert change_start(x) == 1


def test_always_a_valid_index() -> None:
    rng = np.random.default_rng(3)
    for n in range(1, 30):
        for _ in range(5):
            k = change_start(rng.normal(size=n))
            assert (0 if n == 1 else 1) <= k <= n - 1
