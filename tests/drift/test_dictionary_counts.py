"""Category counts of dictionary-encoded columns (Parquet text read as dictionaries): counted by
index, the same counts as those of the decoded values."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from arlequin_core.drift.columns import category_counts, missing_count


def cases() -> dict[str, pa.Array | pa.ChunkedArray]:
    rng = np.random.default_rng(11)
    labels = np.array([f"c{i}" for i in range(50)])
    rows = labels[rng.choice(50, 100_000, p=rng.dirichlet(np.ones(50)))].tolist()
    rows[90_000] = "late"  # first seen far beyond the first prefix
    with_nulls = [None if i % 7 == 0 else r for i, r in enumerate(rows[:5000])]
    unused = pa.DictionaryArray.from_arrays(pa.array([2, 0, 2, None, 0]), pa.array(["b", "a", "c", "unused"]))
    null_word = pa.DictionaryArray.from_arrays(pa.array([0, 1, 1, 2]), pa.array(["x", None, "y"]))
    numbers = pa.DictionaryArray.from_arrays(pa.array([0, 1, 2, 0]), pa.array([1.0, 1.5, float("nan")]))
    return {
        "one chunk": pa.array(rows).dictionary_encode(),
        "nulls": pa.array(with_nulls).dictionary_encode(),
        "chunks, own dictionaries": pa.chunked_array(
            [pa.array(rows[:30_000]).dictionary_encode(), pa.array(rows[30_000:]).dictionary_encode()]
        ),
        "unused entries": unused,
        "null in the dictionary": null_word,
        "numbers and NaN": numbers,
        "all null": pa.DictionaryArray.from_arrays(pa.array([None, None], pa.int32()), pa.array(["a"])),
    }


@pytest.mark.parametrize("name", list(cases()))
def test_dictionary_counts_equal_those_of_the_decoded_values(name):
    array = cases()[name]
    decoded = array.cast(array.type.value_type)
    assert category_counts(array) == category_counts(decoded)
    assert missing_count(array) == missing_count(decoded)
