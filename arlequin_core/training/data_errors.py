"""Telling errors of the data apart from errors of MLflow during a retrain.

Estimators refuse some data with a plain ``ValueError`` (scikit-learn: ``Input X
contains infinity or a value too large for dtype('float64')``, ``Input contains NaN``;
numpy: ``could not convert string to float``). Such an error is the data's: retrying
cannot help and MLflow is not to blame. :func:`data_error` turns it into an
:class:`~arlequin_core.errors.InputError` that names the batches and, when it can tell
from the held-out rows, the columns and what is wrong with them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from arlequin_core.errors import InputError

#: Messages estimators and numpy give for data they cannot use (lower case, searched).
_DATA_MESSAGES = re.compile(
    r"input (x |y )?contains (nan|infinity)|contains infinity|value too large for dtype"
    r"|could not convert string to float|found array with 0 sample|inconsistent numbers of samples"
    r"|unknown label type|at least one array or dtype is required"
)


def is_data_error(exc: BaseException) -> bool:
    """Whether ``exc`` is an estimator or numpy refusing the data (not a fault of MLflow or of the code)."""
    return isinstance(exc, (ValueError, TypeError)) and bool(_DATA_MESSAGES.search(str(exc).lower()))


def column_problems(path: str) -> dict[str, str]:
    """Numeric columns of the Parquet file at ``path`` with non-finite values: ``{column: what}``.

    ``what`` reads "3 infinite values of 300", "all 300 values missing", ... Columns
    without a problem are left out; an unreadable file gives ``{}``.
    """
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException):
        return {}
    found: dict[str, str] = {}
    rows = table.num_rows
    for name in table.column_names:
        column = table.column(name)
        if not (pa.types.is_floating(column.type) or pa.types.is_integer(column.type)):
            if column.null_count == rows and rows:
                found[name] = f"all {rows} values missing"
            continue
        values = column.to_numpy(zero_copy_only=False).astype("float64", copy=False)
        missing = int(np.isnan(values).sum())
        infinite = int(np.isinf(values).sum())
        if missing == rows and rows:
            found[name] = f"all {rows} values missing"
        elif infinite:
            found[name] = f"{infinite} infinite value(s) of {rows}"
        elif pc.all(pc.is_null(column)).as_py() and rows:
            found[name] = f"all {rows} values missing"
    return found


def data_error(exc: BaseException, uris: Sequence[str], heldout: str | None = None, step: str = "") -> InputError:
    """The :class:`InputError` for a retrain the data broke, naming the batches and the bad columns.

    :param exc: the estimator's error (see :func:`is_data_error`).
    :param uris: the batches trained on.
    :param heldout: a Parquet file of rows of that data, inspected for non-finite columns.
    :param step: what was being done ("training", "scoring the champion on the new data").
    """
    problems = column_problems(heldout) if heldout else {}
    where = ", ".join(uris) if uris else "the training data"
    detail = "; ".join(f"column {name!r}: {what}" for name, what in problems.items())
    message = (
        f"the data cannot be used{f' for {step}' if step else ''}: {type(exc).__name__}: {exc}"
        + (f" ({detail})" if detail else "")
        + "; this is not an MLflow error and retrying will not help: fix or remove the bad values, "
        "then `arlequin retry` the batch"
    )
    return InputError(where, message)
