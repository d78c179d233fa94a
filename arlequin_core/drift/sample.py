"""A seeded uniform sample of a batch's rows, the same whatever engine checked it.

The multivariate detectors (:mod:`~arlequin_core.drift.multivariate`) and the
champion's performance estimate (:mod:`arlequin_core.performance`) need rows, not
per-column states. They get a uniform sample of at most ``[drift] sample_rows`` rows
(all rows of a smaller batch), drawn after the column check, when the batch's row
count ``n`` is known:

* **memory**: the rows at ``sample_indices(n, k, seed)`` of the table;
* **arrow**: the batch is streamed once more and the same indices are kept from each
  chunk, so the sample is *identical* to the memory engine's (bounded memory: only the
  sample is held);
* **spark**: ``DataFrame.sample(fraction)`` then ``limit(k)``: a uniform sample of about
  the same size, not the same rows (Spark has no cheap global row index).

Statistics computed on the sample say so (``rows`` scored vs the batch's rows), and
their p-values and bands are those of the sample's size.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from arlequin_core.config import ArlequinConfig

#: Seed of the sample (fixed: the same batch always gives the same sample).
SEED = 20_251_201


def sample_indices(rows: int, size: int, seed: int = SEED) -> np.ndarray | None:
    """Sorted row indices of the sample, or None when every row is kept (``size`` 0 or ``rows <= size``)."""
    if size <= 0 or rows <= size:
        return None
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(rows, size=size, replace=False))


def sample_table(table: pa.Table, size: int, seed: int = SEED) -> pa.Table:
    """The sample of an in-memory table."""
    idx = sample_indices(table.num_rows, size, seed)
    return table if idx is None else table.take(pa.array(idx))


class _AllColumns:
    """What :func:`arlequin_core.drift.stream.iter_chunks` reads: here, the named columns."""

    def __init__(self, columns: list[str]) -> None:
        self.columns = columns


def sample_uri(uri: str, config: ArlequinConfig, rows: int, size: int, columns: list[str]) -> pa.Table:
    """The sample of the batch at ``uri`` (``rows`` of them), streamed: the memory engine's rows exactly.

    :param columns: the columns to keep (those of the batch's file that are wanted).
    :raises InputError: as the streaming engine does (file and row group named).
    """
    from arlequin_core.drift.stream import iter_chunks

    idx = sample_indices(rows, size)
    kept: list[pa.RecordBatch] = []
    start = 0
    for chunk, _, _ in iter_chunks(uri, config.data.format, _AllColumns(columns)):  # type: ignore[arg-type]
        stop = start + chunk.num_rows
        if idx is None:
            kept.append(chunk)
        else:
            lo, hi = np.searchsorted(idx, [start, stop])
            if hi > lo:
                kept.append(chunk.take(pa.array(idx[lo:hi] - start)))
        start = stop
    if not kept:
        return pa.table({c: pa.array([], pa.null()) for c in columns})
    return pa.Table.from_batches(kept).combine_chunks()


def sample_spark(frame: Any, rows: int, size: int, columns: list[str]) -> pa.Table:
    """About ``size`` uniformly sampled rows of a Spark DataFrame, as Arrow (never more than ``size``)."""
    selected = frame.select(*columns)
    if size > 0 and rows > size:
        fraction = min(1.0, 1.05 * size / rows)
        selected = selected.sample(withReplacement=False, fraction=fraction, seed=SEED).limit(size)
    return selected.toArrow()


def wanted_columns(column_names: list[str], profile: Any, config: ArlequinConfig) -> list[str]:
    """The batch's columns the sample needs: the profile's features, and the label when the batch has it."""
    from arlequin_core.drift.profile import ERROR_COLUMN

    wanted = [c for c in profile.columns if c != ERROR_COLUMN]
    for extra in (config.data.label, profile.data.get("label")):
        if extra and extra in column_names and extra not in wanted:
            wanted.append(extra)
    return [c for c in wanted if c in column_names]


def column_names(uri: str, config: ArlequinConfig) -> list[str]:
    """The columns of the batch at ``uri`` (its first data file's schema)."""
    import os

    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from arlequin_core.errors import InputError
    from arlequin_core.io import _data_files, filesystem, guess_format

    fs, path = filesystem(os.fspath(uri))
    for file in _data_files(fs, path, uri):
        try:
            with fs.open(file, "rb") as f:
                if guess_format(uri, config.data.format) == "parquet":
                    return list(pq.ParquetFile(f).schema_arrow.names)
                return list(pacsv.open_csv(f).schema.names)
        except (OSError, pa.ArrowException) as exc:
            raise InputError(uri, f"cannot read the batch's columns: {exc}") from None
    return []
