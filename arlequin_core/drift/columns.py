"""Turning table columns into what detectors take, and counting what is missing.

Detectors receive one column at a time, in one of two forms (see
:mod:`arlequin_core.drift.base`):

* **numeric**: a 1-D ``numpy.ndarray`` of ``float64``; ``NaN`` marks a missing value;
* **categorical**: a ``pyarrow.Array`` or ``pyarrow.ChunkedArray`` of any type; null
  (and ``NaN`` in a float column) marks a missing value.

Categories are compared by a *key*, a string made by :func:`category_key`, so that the
same category read from Parquet, CSV or pandas compares equal (``1``, ``1.0`` and
``np.int64(1)`` are all ``"1"``; ``True`` is ``"True"``).
"""

from __future__ import annotations

import math
import sys
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa

from arlequin_core.errors import InputError

#: What a missing category is shown as in reports; never a key of a count.
MISSING = None


def _pandas() -> Any:
    """The pandas module if it is imported (and done importing), else None.

    Data can only be a pandas object once pandas is imported, so a check of Arrow data
    (``arlequin detect`` on Parquet files) never imports it: a quarter of a second of a
    one-off process (issue 18). A pandas still being imported by another thread (its
    ``__spec__._initializing``) cannot have made the data either.
    """
    pd = sys.modules.get("pandas")
    if pd is None or getattr(getattr(pd, "__spec__", None), "_initializing", False):
        return None
    return pd


#: Arrow types whose values buffer numpy reads as is.
_FIXED_WIDTH: dict[pa.DataType, np.dtype] = {
    getattr(pa, name)(): np.dtype(name)  # not DataType.to_pandas_dtype: it imports pandas
    for name in ("float64", "float32", "int64", "int32", "int16", "int8", "uint64", "uint32", "uint16", "uint8")
}


_ARROW_OF: dict[np.dtype, pa.DataType] = {dtype: kind for kind, dtype in _FIXED_WIDTH.items()}


def _bits(buffer: pa.Buffer, offset: int, length: int) -> np.ndarray:
    """A bit-packed Arrow buffer (validity, booleans) as numpy booleans."""
    packed = np.frombuffer(buffer, dtype=np.uint8)
    return np.unpackbits(packed, bitorder="little")[offset : offset + length].view(np.bool_)


def to_numpy(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """``array.to_numpy(zero_copy_only=False)``, without pyarrow's pandas conversion where numpy can read the buffers.

    pyarrow converts through its pandas layer, which imports pandas (a quarter of a second
    or more of a one-off ``arlequin detect``, issue 18). Numbers without nulls are a
    read-only view of the Arrow buffer, as pyarrow's zero-copy result; numbers with nulls
    become floats with NaN for null, and booleans without nulls numpy booleans, as pyarrow
    makes them. Any other type (strings, dictionaries, temporal, booleans with nulls)
    goes to pyarrow.
    """
    if isinstance(array, pa.ChunkedArray):
        if array.num_chunks == 1:
            return to_numpy(array.chunk(0))
        if array.num_chunks == 0 or array.type not in _FIXED_WIDTH:
            return array.to_numpy()
        return np.concatenate([to_numpy(chunk) for chunk in array.chunks])
    kind = array.type
    dtype = _FIXED_WIDTH.get(kind)
    if len(array) == 0 or (dtype is None and not (pa.types.is_boolean(kind) and array.null_count == 0)):
        return array.to_numpy(zero_copy_only=False)
    validity, data = array.buffers()[:2]
    if dtype is None:  # booleans, bit-packed
        return _bits(data, array.offset, len(array))
    values = np.frombuffer(data, dtype=dtype, count=len(array), offset=array.offset * dtype.itemsize)
    if array.null_count == 0:
        return values
    out = values.astype(np.float64 if dtype.itemsize > 4 or dtype.kind != "f" else dtype)
    out[~_bits(validity, array.offset, len(array))] = np.nan
    return out


def as_table(data: Any, where: str) -> pa.Table:
    """``data`` (an Arrow table or a pandas DataFrame) as an Arrow table.

    pandas object columns holding several types (``[1, "a", 2.5]``) cannot become one
    Arrow type; they become strings (:func:`category_key` of each value), missing
    values stay missing.

    :param where: names the data in errors (a file name, ``"reference"``).
    :raises InputError: ``data`` is neither, or a column cannot be converted.
    """
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    pd = _pandas()
    if pd is None or not isinstance(data, pd.DataFrame):
        raise InputError(where, f"expected a pyarrow.Table or a pandas.DataFrame, got {type(data).__name__}")
    arrays = []
    names = []
    for name in data.columns:
        series = data[name]
        names.append(str(name))
        try:
            arrays.append(pa.array(series, from_pandas=True))
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            keys = [None if is_missing(v) else category_key(v) for v in series.tolist()]
            arrays.append(pa.array(keys, type=pa.string()))
    if len(set(names)) != len(names):
        raise InputError(where, f"duplicate column names: {sorted({n for n in names if names.count(n) > 1})}")
    return pa.Table.from_arrays(arrays, names=names)


def is_missing(value: Any) -> bool:
    """True for ``None``, ``NaN`` (float or numpy) and ``pandas.NA``/``NaT``."""
    if value is None:
        return True
    if isinstance(value, (float, np.floating)):
        return math.isnan(value)
    pd = _pandas()
    if pd is None:  # no pandas object (NA, NaT) can exist: what else pd.isna catches
        if isinstance(value, (np.datetime64, np.timedelta64)):
            return bool(np.isnat(value))
        return isinstance(value, Decimal) and value.is_nan()
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def category_key(value: Any) -> str:
    """The string a category is compared and stored by.

    Integral floats print as integers (``2.0`` -> ``"2"``) because the same integer
    column reads as ``float64`` once it has a missing value; other floats use
    ``repr``; bytes are decoded as UTF-8 (invalid bytes replaced); the rest use
    ``str``.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return "True" if value else "False"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if number.is_integer():
            return str(int(number))
        return repr(number)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def as_arrow(values: Any) -> pa.Array | pa.ChunkedArray:
    """Any 1-D column (Arrow, numpy, pandas, list) as an Arrow array, for counting."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values
    pd = _pandas()
    if pd is not None and isinstance(values, pd.Series):
        values = values.to_numpy(dtype=object) if values.dtype == object else values
    try:
        return pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        seq = values.tolist() if hasattr(values, "tolist") else list(values)
        return pa.array([None if is_missing(v) else category_key(v) for v in seq], type=pa.string())


def category_counts(values: Any) -> dict[str, int]:
    """Counts of each category key in ``values``, missing values left out.

    :param values: an Arrow array or chunked array (the form detectors receive), or
        anything :func:`as_arrow` accepts.
    :returns: key -> count, in first-seen order (a dictionary-encoded column: in dictionary
        order); empty when every value is missing.
    """
    array = as_arrow(values)
    if len(array) == 0:
        return {}
    if pa.types.is_dictionary(array.type):
        return _dictionary_counts(array)
    if pa.types.is_boolean(array.type):
        return _boolean_counts(array)
    import pyarrow.compute as pc  # here: its import is ~0.05-0.1 s of a one-off detect (issue 18)

    counted = pc.value_counts(array)
    counts: dict[str, int] = {}
    pairs = zip(counted.field("values").to_pylist(), counted.field("counts").to_pylist(), strict=True)
    for value, count in pairs:
        if is_missing(value):
            continue
        key = category_key(value)
        # Two raw values can share a key (1 and 1.0 in a mixed column): add them up.
        counts[key] = counts.get(key, 0) + int(count)
    return counts


def _boolean_counts(array: pa.BooleanArray | pa.ChunkedArray) -> dict[str, int]:
    """:func:`category_counts` of a boolean column, from its bits in numpy (``value_counts``
    imports pyarrow.compute, ~0.05-0.1 s of a one-off detect, issue 18); first-seen order."""
    seen: list[bool] = []
    trues = falses = 0
    for chunk in array.chunks if isinstance(array, pa.ChunkedArray) else [array]:
        if len(chunk) == chunk.null_count:
            continue
        validity, data = chunk.buffers()[:2]
        bits = _bits(data, chunk.offset, len(chunk))
        if chunk.null_count:
            bits = bits[_bits(validity, chunk.offset, len(chunk))]
        true = int(np.count_nonzero(bits))
        trues, falses = trues + true, falses + bits.size - true
        if len(seen) < 2:
            seen.extend(v for v in (bool(bits[0]), not bits[0]) if v not in seen and (true if v else bits.size - true))
    counts: dict[str, int] = {}
    for value in seen:
        key = category_key(value)
        counts[key] = counts.get(key, 0) + (trues if value else falses)
    return counts


def _dictionary_counts(array: pa.DictionaryArray | pa.ChunkedArray) -> dict[str, int]:
    """:func:`category_counts` of a dictionary-encoded column: its rows counted by dictionary index
    (one ``bincount``, no hashing: a third of ``value_counts``), its values keyed once.

    The keys come in dictionary order, chunk after chunk (for a Parquet column, the order
    its writer met them), not in the order of the rows.
    """
    counts: dict[str, int] = {}
    for chunk in array.chunks if isinstance(array, pa.ChunkedArray) else [array]:
        if len(chunk) == chunk.null_count:
            continue
        indices = chunk.indices.drop_null() if chunk.indices.null_count else chunk.indices
        per_word = np.bincount(to_numpy(indices), minlength=len(chunk.dictionary))
        words = chunk.dictionary.to_pylist()
        for position in np.flatnonzero(per_word).tolist():
            word = words[position]
            if is_missing(word):
                continue
            key = category_key(word)
            counts[key] = counts.get(key, 0) + int(per_word[position])
    return counts


def is_categorical_input(values: Any) -> bool:
    """True when a detector that takes both kinds should treat ``values`` as categorical.

    Arrow arrays are categorical (the core passes numeric columns as numpy arrays);
    numpy and pandas data are numeric when their dtype is a number other than bool.
    """
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return True
    dtype = getattr(values, "dtype", None)
    if dtype is None:
        dtype = np.asarray(values).dtype
    return not (isinstance(dtype, np.dtype) and dtype.kind in "fiu")


def numeric_values(values: Any) -> np.ndarray:
    """``values`` as a float64 array without its missing values (a new array when any were dropped).

    :raises ValueError: values that are not numbers.
    """
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        values = numeric_array(values, "values")
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"expected a 1-D column, got an array of shape {array.shape}")
    mask = np.isnan(array)
    return array[~mask] if mask.any() else array


def sorted_values(values: Any, *, copy: bool = True) -> np.ndarray:
    """The non-missing values of a numeric column, sorted ascending (a new array unless ``copy`` is False).

    One copy only: numpy sorts ``NaN`` last, so the missing values are cut off the end.
    Values already sorted without ``NaN`` (as the core passes them) are copied, not sorted again.

    :param copy: False: values already sorted come back as they are (for a caller that only reads them).
    """
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 1 and array.size > 1 and bool(np.all(array[1:] >= array[:-1])):
        return array.copy() if copy else array  # NaN compares false: a column with NaN is never taken for sorted
    array = np.sort(array, kind="quicksort")
    if array.ndim != 1:
        raise ValueError(f"expected a 1-D column, got an array of shape {array.shape}")
    if array.size and np.isnan(array[-1]):
        array = array[: int(np.searchsorted(array, np.nan, side="left"))]
    return array


def from_numpy(values: np.ndarray) -> pa.Array:
    """``pa.array(values)`` of a 1-D numpy array of numbers, zero-copy, without importing pandas.

    ``pa.array`` asks pyarrow's pandas layer whether its argument is a pandas object, which
    imports pandas (issue 18); a contiguous array of a fixed-width number type is wrapped
    as is (the Arrow array keeps a reference to it). Anything else goes to ``pa.array``.
    """
    kind = _ARROW_OF.get(values.dtype) if isinstance(values, np.ndarray) and values.ndim == 1 else None
    if kind is None or not values.flags.c_contiguous or not values.dtype.isnative:
        return pa.array(values)
    return pa.Array.from_buffers(kind, len(values), [None, pa.py_buffer(values)])


def numeric_array(column: pa.Array | pa.ChunkedArray, name: str, where: str = "data") -> np.ndarray:
    """An Arrow column as float64 numpy, null -> NaN; zero-copy when it already is float64 without nulls.

    Booleans become 0/1, temporal values their integer representation (e.g. microseconds
    since the epoch), decimals floats.

    :raises InputError: the column holds values that are not numbers (naming it and one value).
    """
    if isinstance(column, pa.ChunkedArray) and column.num_chunks == 1:
        column = column.chunk(0)
    kind = column.type
    try:
        if pa.types.is_temporal(kind):
            column = column.cast(pa.int64())
        elif pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_dictionary(kind):
            import pyarrow.compute as pc  # here: its import is ~0.05-0.1 s of a one-off detect (issue 18)

            column = pc.cast(column, pa.float64())
        elif _exact_in_float64(column):  # numpy: Array.cast imports pyarrow.compute (see category_counts)
            return to_numpy(column).astype(np.float64)
        elif not pa.types.is_float64(kind):
            column = column.cast(pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise InputError(where, f"column {name!r} ({kind}) is not numeric: {exc}") from None
    return to_numpy(column).astype(np.float64, copy=False)


_EXACT_IN_FLOAT64 = {getattr(pa, name)() for name in ("float32", "int32", "int16", "int8", "uint32", "uint16", "uint8")}


def _exact_in_float64(column: pa.Array | pa.ChunkedArray) -> bool:
    """Whether every value of a number (or boolean, without nulls) column is a float64 as is, as
    Arrow's safe cast requires: narrow types always, 64-bit integers within 2**53."""
    kind = column.type
    if kind in _EXACT_IN_FLOAT64 or (pa.types.is_boolean(kind) and column.null_count == 0):
        return True
    if kind not in (pa.int64(), pa.uint64()) or column.null_count or len(column) == 0:
        return False
    values = to_numpy(column)  # the integers themselves (no nulls)
    return max(abs(int(values.min())), abs(int(values.max()))) <= 2**53


def missing_count(values: Any) -> int:
    """How many values of a column are missing (null, or NaN in a float column)."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        return int(np.count_nonzero(np.isnan(values)))
    array = as_arrow(values)
    if pa.types.is_dictionary(array.type):
        return sum(
            _dictionary_missing(chunk) for chunk in (array.chunks if isinstance(array, pa.ChunkedArray) else [array])
        )
    if pa.types.is_floating(array.type) and array.type in _FIXED_WIDTH:
        # In numpy, nulls as NaN: not pyarrow.compute, whose import is ~0.05-0.1 s of a one-off detect (issue 18).
        return int(np.count_nonzero(np.isnan(to_numpy(array))))
    count = array.null_count
    if pa.types.is_floating(array.type):
        import pyarrow.compute as pc

        count += int(pc.sum(pc.is_nan(array)).as_py() or 0)
    return int(count)


def _dictionary_missing(chunk: pa.DictionaryArray) -> int:
    """Missing rows of one dictionary chunk: null indices, and rows whose dictionary value is null or NaN."""
    words = chunk.dictionary
    if pa.types.is_floating(words.type) and words.type in _FIXED_WIDTH:
        bad = np.isnan(to_numpy(words))  # null words become NaN too (numpy: see missing_count)
    elif words.null_count == 0 and not pa.types.is_floating(words.type):
        return chunk.null_count
    else:
        import pyarrow.compute as pc

        bad = to_numpy(pc.is_null(words, nan_is_null=True))
    if not bad.any():
        return chunk.null_count
    indices = chunk.indices.drop_null() if chunk.indices.null_count else chunk.indices
    return chunk.null_count + int(np.count_nonzero(bad[to_numpy(indices)]))


def take_rows(table: pa.Table, rows: np.ndarray) -> pa.Table:
    """``table.take(rows)`` for sorted in-range row positions, in numpy where Arrow's buffers allow.

    ``Table.take`` imports pyarrow.compute, whose import alone is ~0.05-0.1 s of a one-off
    ``arlequin detect`` from a profile (issue 18). Single-chunk columns of fixed-width numbers
    and dictionaries of them without nulls are gathered in numpy; any other column goes to
    ``ChunkedArray.take``.
    """
    positions = np.asarray(rows, dtype=np.int64)
    columns = [_take_column(column, positions) for column in table.columns]
    return pa.Table.from_arrays(columns, schema=table.schema)


def _take_column(column: pa.ChunkedArray, positions: np.ndarray) -> pa.Array | pa.ChunkedArray:
    if column.num_chunks == 1:
        chunk = column.chunk(0)
        kind = chunk.type
        if kind in _FIXED_WIDTH and chunk.null_count == 0:
            return from_numpy(to_numpy(chunk)[positions])
        if (
            pa.types.is_dictionary(kind)
            and kind.index_type in _FIXED_WIDTH
            and chunk.null_count == 0
            and chunk.indices.null_count == 0
        ):
            indices = from_numpy(to_numpy(chunk.indices)[positions])
            return pa.DictionaryArray.from_arrays(indices, chunk.dictionary, ordered=kind.ordered)
    return column.take(from_numpy(positions))
