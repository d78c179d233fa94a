"""Arrow <-> numpy without pyarrow's pandas layer (:mod:`arlequin_core.drift.columns`, issue 18).

``Array.to_numpy``, ``pa.array`` and ``pa.scalar`` import pandas; the helpers read and
wrap the buffers themselves for numbers, and must give exactly what pyarrow gives. A
missing value without pandas imported is what ``pandas.isna`` says of it.
"""

from __future__ import annotations

import datetime
import decimal
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest

from arlequin_core.drift.columns import from_numpy, is_missing, to_numpy

TYPES = [
    pa.float64(),
    pa.float32(),
    pa.int64(),
    pa.int32(),
    pa.int16(),
    pa.int8(),
    pa.uint64(),
    pa.uint32(),
    pa.uint16(),
    pa.uint8(),
    pa.bool_(),
    pa.string(),
    pa.timestamp("us"),
]


def _value(t: pa.DataType, v: int) -> object:
    if t == pa.bool_():
        return bool(v % 2)
    if t == pa.string():
        return str(v)
    return int(v)


@pytest.mark.parametrize("kind", TYPES, ids=str)
@pytest.mark.parametrize("nulls", [0.0, 0.3])
def test_to_numpy_is_pyarrows_to_numpy(kind: pa.DataType, nulls: float) -> None:
    rng = np.random.default_rng(18)
    for size in (0, 1, 7, 100):
        values = [None if rng.random() < nulls else _value(kind, int(v)) for v in rng.integers(0, 100, size)]
        array = pa.array(values, type=kind)
        slices = [array, array.slice(min(3, size)), array.slice(1, max(size - 3, 0))]
        for part in slices:
            for column in (part, pa.chunked_array([part, part], type=kind), pa.chunked_array([part], type=kind)):
                chunked = isinstance(column, pa.ChunkedArray)
                expected = column.to_numpy() if chunked else column.to_numpy(zero_copy_only=False)
                got = to_numpy(column)
                assert got.dtype == expected.dtype, (kind, nulls, size)
                np.testing.assert_array_equal(got, expected)


def test_from_numpy_is_pa_array() -> None:
    for values in (
        np.arange(5),
        np.arange(5, dtype=np.uint32),
        np.linspace(0, 1, 4),
        np.arange(10)[::2],  # not contiguous: pa.array
        np.array([], dtype=np.int64),
        np.array([True, False]),
        np.array([1.5, np.nan]),
    ):
        got, expected = from_numpy(values), pa.array(values)
        assert got.type == expected.type and got.null_count == expected.null_count
        assert str(got.to_pylist()) == str(expected.to_pylist())


VALUES = [
    None,
    float("nan"),
    np.float32("nan"),
    1,
    "a",
    b"x",
    True,
    np.datetime64("NaT"),
    np.timedelta64("NaT"),
    np.datetime64("2020-01-01"),
    decimal.Decimal("NaN"),
    decimal.Decimal("1.5"),
    datetime.datetime(2020, 1, 1),
    np.int64(3),
    1.5,
]


def test_is_missing_without_pandas_is_pandas_isna() -> None:
    code = (
        "import sys, pickle\nfrom arlequin_core.drift.columns import is_missing\n"
        f"values = pickle.loads({__import__('pickle').dumps(VALUES)!r})\n"
        "print([is_missing(v) for v in values], 'pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    import pandas as pd

    expected = [bool(pd.isna(v)) for v in VALUES]
    assert out.stdout.strip() == f"{expected} False"
    assert [is_missing(v) for v in VALUES] == expected  # and with pandas imported
    assert is_missing(pd.NA) and is_missing(pd.NaT)
