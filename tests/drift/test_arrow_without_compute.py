"""The numpy stand-ins for pyarrow.compute on the detect-from-a-profile path (issue 18) give
what pyarrow gives: ``take_rows`` is ``Table.take``, ``_decode_dictionary`` a cast to the value
type, ``missing_count`` the count of nulls and NaN, for the types they gather themselves and
for those they hand back to pyarrow."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from arlequin_core.drift.columns import category_counts, category_key, missing_count, numeric_array, take_rows
from arlequin_core.drift.multivariate import _frequency_codes
from arlequin_core.io import _decode_dictionary


def _table(rng: np.random.Generator, n: int) -> pa.Table:
    words = np.array(["a", "bb", "", "ccc", "é€"])
    with_nulls = pa.array([None if i % 7 == 0 else float(i) for i in range(n)])
    return pa.table(
        {
            "f8": rng.normal(size=n),
            "f4": rng.normal(size=n).astype(np.float32),
            "i2": rng.integers(-5, 5, n).astype(np.int16),
            "with_nulls": with_nulls,
            "text": pa.array(rng.choice(words, n)),
            "dict": pa.array(rng.choice(words, n)).dictionary_encode(),
            "dict_nulls": pa.array([None if i % 5 == 0 else str(i % 3) for i in range(n)]).dictionary_encode(),
            "flag": pa.array(rng.random(n) < 0.5),
        }
    )


@pytest.mark.parametrize("chunks", [1, 3])
def test_take_rows_is_table_take(chunks: int) -> None:
    rng = np.random.default_rng(1)
    table = _table(rng, 300)
    if chunks > 1:
        table = pa.concat_tables([table.slice(0, 100), table.slice(100, 100), table.slice(200)])
    else:
        table = table.slice(10)  # chunks with an offset
    rows = np.sort(rng.choice(table.num_rows, 40, replace=False))
    taken = take_rows(table, rows)
    expected = table.take(pa.array(rows))
    assert taken.schema == expected.schema
    assert taken.to_pylist() == expected.to_pylist()


@pytest.mark.parametrize("large", [False, True])
def test_decode_dictionary_is_a_cast_to_the_value_type(large: bool) -> None:
    kind = pa.large_string() if large else pa.string()
    words = pa.array(["x", "", "yy", "zzzz", "ü"], type=kind)
    indices = pa.array(np.random.default_rng(2).integers(0, len(words), 200).astype(np.int32))
    array = pa.DictionaryArray.from_arrays(indices, words).slice(7, 150)
    decoded = _decode_dictionary(array)
    assert decoded.type == kind and decoded.to_pylist() == array.cast(kind).to_pylist()
    chunked = pa.chunked_array([array, array.slice(3, 0), array.slice(20, 9)])
    assert _decode_dictionary(chunked).to_pylist() == chunked.cast(kind).to_pylist()
    # With nulls (indices or words): left to the cast, same result.
    nulls = pa.DictionaryArray.from_arrays(pa.array([0, None, 2], type=pa.int8()), pa.array(["a", None, "c"]))
    assert _decode_dictionary(nulls).to_pylist() == ["a", None, "c"]


def test_missing_count_counts_nulls_and_nan() -> None:
    floats = pa.chunked_array([pa.array([1.0, None, float("nan")]), pa.array([float("nan"), 2.0], type=pa.float64())])
    assert missing_count(floats) == 3
    assert missing_count(pa.array([1.0, None, float("nan")], type=pa.float32())) == 2
    assert missing_count(pa.array([1, None, 3])) == 1
    words = pa.DictionaryArray.from_arrays(pa.array([0, 1, 2, None, 1]), pa.array([1.5, float("nan"), None]))
    assert missing_count(words) == 4  # NaN word twice, null word once, null index once
    text = pa.DictionaryArray.from_arrays(pa.array([0, 1, None]), pa.array(["a", "b"]))
    assert missing_count(text) == 1


def test_frequency_codes_of_text_match_those_of_its_dictionary() -> None:
    values = pa.array(["a", None, "b", "zz", "a", "b", None, "q"])
    frequencies = {"a": 0.5, "b": 0.25, "zz": 0.25}
    plain = _frequency_codes(pa.chunked_array([values]), frequencies)
    encoded = _frequency_codes(pa.chunked_array([values.dictionary_encode()]), frequencies)
    np.testing.assert_array_equal(plain, encoded)
    np.testing.assert_array_equal(plain, [0.5, np.nan, 0.25, 0.25, 0.5, 0.25, np.nan, 0.0])


@pytest.mark.parametrize(
    "array",
    [
        pa.array([1.5, -2.0], type=pa.float32()),
        pa.array([1, None, -3], type=pa.int16()),
        pa.array([0, 2**32 - 1], type=pa.uint32()),
        pa.array([True, False, True]),
        pa.array([2**53, -(2**53), 7]),
        pa.array([2**63 - 1, 2**63], type=pa.uint64()),
        pa.array([2**53 + 1, 1]),
        pa.array([True, None]),
    ],
    ids=["f4", "i2-nulls", "u4", "bool", "i8-exact", "u8-wide", "i8-inexact", "bool-nulls"],
)
def test_numeric_array_is_arrows_safe_cast(array: pa.Array) -> None:
    try:
        expected = np.array(array.cast(pa.float64()).to_pylist(), dtype=np.float64)
    except pa.ArrowInvalid:
        with pytest.raises(Exception, match="not numeric"):
            numeric_array(array, "x")
        return
    np.testing.assert_array_equal(numeric_array(array, "x"), expected)


@pytest.mark.parametrize(
    "values",
    [
        [[True, False, True]],
        [[False, None, False], [None, True]],
        [[None, None], [True, True, None]],
        [[None]],
        [[False] * 9],
    ],
)
def test_category_counts_of_booleans_are_value_counts(values: list[list[bool | None]]) -> None:
    array = pa.chunked_array([pa.array(v, type=pa.bool_()) for v in values])
    for data in (array, array.combine_chunks(), array.combine_chunks().slice(1)):
        expected: dict[str, int] = {}
        for entry in data.combine_chunks().value_counts() if isinstance(data, pa.ChunkedArray) else data.value_counts():
            if entry["values"].as_py() is not None:
                expected[category_key(entry["values"].as_py())] = entry["counts"].as_py()
        counts = category_counts(data)
        assert counts == expected and list(counts) == list(expected)


def test_frequency_codes_of_booleans_match_those_of_their_dictionary() -> None:
    values = pa.array([True, None, False, True])
    frequencies = {category_key(True): 0.75}
    plain = _frequency_codes(pa.chunked_array([values]), frequencies)
    np.testing.assert_array_equal(plain, _frequency_codes(pa.chunked_array([values.dictionary_encode()]), frequencies))
    np.testing.assert_array_equal(plain, [0.75, np.nan, 0.0, 0.75])
