"""A model's per-row errors as one numeric column, the stream ``[drift] error_detector`` watches.

The contract every error-rate detector relies on: one column, named
:data:`ERROR_COLUMN`, in row order, ``1.0`` where the model was wrong, ``0.0`` where
it was right, NaN where the row has no label yet. :func:`error_stream` makes it from
labels and predictions; the retraining flow fits it into the champion's profile and
the drift monitor adds it to each labelled batch
(:mod:`arlequin_core.training.model_errors`). Detector plugins (e.g. river's DDM)
only read it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

__all__ = ["ERROR_COLUMN", "as_float_array", "error_stream"]

#: The column of the model's per-row errors (1 wrong, 0 right, missing: no label yet).
ERROR_COLUMN = "__error__"


def as_float_array(values: Any, what: str = "values") -> np.ndarray:
    """``values`` as a 1-D float64 array, nulls as NaN.

    :param values: a pyarrow Array or ChunkedArray, a pandas Series, a numpy array
        or a sequence of numbers (``None`` allowed).
    :param what: how to name the values in an error.
    :raises ValueError: the values are not numbers (strings, nested lists, ...).

    >>> as_float_array([1, None, 2.5]).tolist()
    [1.0, nan, 2.5]
    """
    import pyarrow.compute as pc  # not at module level: ~0.05-0.1 s of a one-off detect (issue 18)

    try:
        if isinstance(values, (pa.Array, pa.ChunkedArray)):
            return np.asarray(pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
        if hasattr(values, "to_numpy") and hasattr(values, "dtype"):  # pandas Series / Index
            return np.asarray(values.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError, pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise ValueError(f"{what}: expected numbers: {exc}") from None
    if array.ndim != 1:
        raise ValueError(f"{what}: expected one column of numbers, got an array of shape {array.shape}")
    return array


def error_stream(labels: Any, predictions: Any, tolerance: float | None = None) -> np.ndarray:
    """Per-row errors of a model: 1.0 wrong, 0.0 right, NaN where the label is missing.

    :param labels: the true labels, one per row (pyarrow, pandas, numpy or a list;
        nulls allowed: labels that have not arrived yet).
    :param predictions: the model's predictions for the same rows, same length.
    :param tolerance: ``None`` for classification (wrong = not equal); for a
        numeric target, wrong = ``abs(label - prediction) > tolerance``.
    :return: float64 array of shape ``(n_rows,)``.
    :raises ValueError: lengths differ, or labels and predictions cannot be compared.

    >>> error_stream([1, 0, None, 1], [1, 1, 0, 0]).tolist()
    [0.0, 1.0, nan, 1.0]
    >>> error_stream([10.0, 12.0], [10.5, 15.0], tolerance=1.0).tolist()
    [0.0, 1.0]
    """
    import pyarrow.compute as pc  # not at module level: ~0.05-0.1 s of a one-off detect (issue 18)

    if tolerance is not None:
        y = as_float_array(labels, "labels")
        y_hat = as_float_array(predictions, "predictions")
        if y.shape != y_hat.shape:
            raise ValueError(f"labels ({y.size} rows) and predictions ({y_hat.size} rows) differ in length")
        wrong = (np.abs(y - y_hat) > tolerance).astype(np.float64)
        wrong[np.isnan(y) | np.isnan(y_hat)] = np.nan
        return wrong
    y_arr = labels if isinstance(labels, (pa.Array, pa.ChunkedArray)) else pa.array(labels, from_pandas=True)
    p_arr = (
        predictions if isinstance(predictions, (pa.Array, pa.ChunkedArray)) else pa.array(predictions, from_pandas=True)
    )
    if len(y_arr) != len(p_arr):
        raise ValueError(f"labels ({len(y_arr)} rows) and predictions ({len(p_arr)} rows) differ in length")
    try:
        wrong = pc.not_equal(y_arr, p_arr)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise ValueError(f"cannot compare labels ({y_arr.type}) with predictions ({p_arr.type}): {exc}") from None
    return as_float_array(wrong, "errors")
