"""The row sample: a seeded uniform sample, the same rows streamed chunk by chunk as in memory."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats

from arlequin_core.drift.sample import SEED, RowSampler, row_keys, sample_indices, sample_table


def _table(n: int) -> pa.Table:
    return pa.table({"i": np.arange(n), "s": pa.array([f"r{i}" for i in range(n)]).dictionary_encode()})


@pytest.mark.parametrize(("rows", "size"), [(5000, 300), (5000, 4999), (300, 500), (5000, 0), (1, 1)])
@pytest.mark.parametrize("step", [1, 97, 1000, 10_000])
def test_streamed_sample_is_the_in_memory_sample(rows, size, step):
    table = _table(rows)
    sampler = RowSampler(size, ["i", "s"])
    for start in range(0, rows, step):
        sampler.add(table.slice(start, step).to_batches()[0] if step < rows else table)
    streamed = sampler.table()
    expected = sample_table(table, size)
    assert streamed.column("i").to_pylist() == expected.column("i").to_pylist()
    assert streamed.column("s").to_pylist() == expected.column("s").to_pylist()
    assert streamed.num_rows == (min(rows, size) if size else rows)


def test_sample_is_uniform_and_without_repeats():
    idx = sample_indices(100_000, 5000)
    assert idx is not None and np.unique(idx).size == 5000 and np.all(np.diff(idx) > 0)
    assert stats.kstest(idx / 100_000, "uniform").pvalue > 1e-3
    assert np.unique(row_keys(0, 100_000)).size == 100_000  # a permutation: no ties between rows
    assert sample_indices(10, 10) is None and sample_indices(10, 0) is None


@pytest.mark.parametrize(
    ("rows", "size"), [(1_000_000, 20_000), (300_000, 120_000), (65_537, 65_536), (70_000, 1), (1000, 900), (10, 3)]
)
def test_sample_indices_are_the_smallest_keys_of_all_rows(rows, size):
    """Keeping only the keys below a bound, block by block, picks the rows ranking every key would."""
    for seed in (SEED, 0):
        keys = row_keys(0, rows, seed)
        expected = np.sort(np.argsort(keys, kind="stable")[:size])
        assert np.array_equal(sample_indices(rows, size, seed), expected)
