"""A seeded uniform sample of a batch's rows, the same whatever engine checked it.

The multivariate detectors (:mod:`~arlequin_core.drift.multivariate`) and the
champion's performance estimate (:mod:`arlequin_core.performance`) need rows, not
per-column states. They get a uniform sample of at most ``[drift] sample_rows`` rows
(all rows of a smaller batch).

Which rows: row ``i`` of the batch (its position, counting from 0 across part files)
gets the key ``splitmix64(i + seed)``, a fixed pseudo-random permutation of the row
positions; the sample is the ``k`` rows with the smallest keys, in row order. A
bottom-k of a random permutation is a uniform sample without replacement, and it can
be taken without knowing the batch's size, so:

* **memory**: the ``k`` smallest keys of the table's rows (:func:`sample_table`);
* **arrow**: the same rows, kept while the batch streams, in the same pass as the
  column states (:class:`RowSampler`): a chunk's rows whose key beats the running
  ``k``-th smallest are kept, and the kept rows are cut back to ``k`` whenever they
  pass ``2k``; about ``k (1 + ln(n / k))`` rows are ever taken, the sample is
  *identical* to the memory engine's;
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
from arlequin_core.drift.columns import take_rows

#: Seed of the sample (fixed: the same batch always gives the same sample).
SEED = 20_251_201


def row_keys(start: int, stop: int, seed: int = SEED) -> np.ndarray:
    """The sampling keys of rows ``start .. stop - 1`` (uint64, distinct: splitmix64 is a bijection)."""
    with np.errstate(over="ignore"):
        z = np.arange(start, stop, dtype=np.uint64)
        z += np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15)
        spare = np.empty_like(z)  # in place: no temporary per step
        for shift, factor in ((30, 0xBF58476D1CE4E5B9), (27, 0x94D049BB133111EB), (31, 0)):
            np.right_shift(z, np.uint64(shift), out=spare)
            z ^= spare
            if factor:
                z *= np.uint64(factor)
        return z


#: Rows whose keys :func:`sample_indices` computes at once (a few hundred kB: in cache).
KEY_BLOCK = 1 << 16


def sample_indices(rows: int, size: int, seed: int = SEED) -> np.ndarray | None:
    """Sorted row indices of the sample, or None when every row is kept (``size`` 0 or ``rows <= size``).

    The keys are computed by blocks of :data:`KEY_BLOCK` rows and only those below a
    bound are kept, the bound set so that about 1.5 ``size`` (plus six standard
    deviations) of the ``rows`` uniform keys fall below it. When at least ``size`` do,
    the ``size`` smallest keys of all are among them, so the sample is the one of all
    the keys (keys are distinct: the same rows); else every key is ranked.
    """
    if size <= 0 or rows <= size:
        return None
    expected = 1.5 * size + 6.0 * size**0.5 + 64.0
    if expected < rows:
        bound = np.uint64(min(int(expected / rows * 2.0**64), 2**64 - 1))
        kept_keys, kept_rows = [], []
        for start in range(0, rows, KEY_BLOCK):
            keys = row_keys(start, min(start + KEY_BLOCK, rows), seed)
            below = np.flatnonzero(keys < bound)
            kept_keys.append(keys[below])
            kept_rows.append(below + start)
        keys, positions = np.concatenate(kept_keys), np.concatenate(kept_rows)
        if keys.size >= size:
            return np.sort(positions[np.argpartition(keys, size - 1)[:size]])
    keys = row_keys(0, rows, seed)
    return np.sort(np.argpartition(keys, size - 1)[:size])


def sample_table(table: pa.Table, size: int, seed: int = SEED) -> pa.Table:
    """The sample of an in-memory table."""
    idx = sample_indices(table.num_rows, size, seed)
    return table if idx is None else take_rows(table, idx)


class RowSampler:
    """The sample of a batch seen chunk by chunk, in order (see the module docstring).

    :param size: at most this many rows (0: every row).
    :param columns: the columns to keep; a chunk lacking one of them is an error of the caller.
    """

    def __init__(self, size: int, columns: list[str], seed: int = SEED) -> None:
        self.size, self.columns, self.seed = size, list(columns), seed
        self.rows = 0
        self._parts: list[pa.Table] = []
        self._keys: list[np.ndarray] = []
        self._positions: list[np.ndarray] = []
        self._kept = 0
        self._threshold: np.uint64 | None = None  # the k-th smallest key kept, once k are

    def add(self, chunk: pa.RecordBatch | pa.Table) -> None:
        """Take the rows of the next ``chunk`` of the batch that may be in the sample.

        Dictionary-encoded columns are kept decoded (as the in-memory table has them); a
        column the chunk lacks (a part file without the label) is kept as nulls.
        """
        start, self.rows = self.rows, self.rows + chunk.num_rows
        table = chunk if isinstance(chunk, pa.Table) else pa.Table.from_batches([chunk])
        if self.size <= 0:
            self._parts.append(_plain(table, self.columns))
            return
        keys = row_keys(start, self.rows, self.seed)
        chosen = np.flatnonzero(keys < self._threshold) if self._threshold is not None else None
        if chosen is not None:
            if chosen.size == 0:
                return
            table, keys = table.take(pa.array(chosen)), keys[chosen]
            positions = chosen + start
        else:
            positions = np.arange(start, self.rows, dtype=np.int64)
        self._parts.append(_plain(table, self.columns))
        self._keys.append(keys)
        self._positions.append(positions)
        self._kept += keys.size
        if self._kept >= 2 * self.size or (self._threshold is None and self._kept >= self.size):
            self._compact()

    def _compact(self) -> None:
        table, keys, positions = self._joined()
        if keys.size > self.size:
            best = np.argpartition(keys, self.size - 1)[: self.size]
            best.sort()  # row order is kept: positions grow with the chunks
            table, keys, positions = table.take(pa.array(best)), keys[best], positions[best]
        self._parts, self._keys, self._positions = [table], [keys], [positions]
        self._kept = keys.size
        if keys.size >= self.size:
            self._threshold = keys.max()

    def _joined(self) -> tuple[pa.Table, np.ndarray, np.ndarray]:
        table = pa.concat_tables(self._parts, promote_options="default") if len(self._parts) > 1 else self._parts[0]
        keys = np.concatenate(self._keys) if self._keys else np.empty(0, dtype=np.uint64)
        positions = np.concatenate(self._positions) if self._positions else np.empty(0, dtype=np.int64)
        return table, keys, positions

    def table(self) -> pa.Table:
        """The sample: at most ``size`` rows, in row order (all rows of a smaller batch)."""
        if not self._parts:
            return pa.table({c: pa.array([], pa.null()) for c in self.columns})
        if self.size > 0:
            self._compact()
        table = pa.concat_tables(self._parts, promote_options="default") if len(self._parts) > 1 else self._parts[0]
        return table.combine_chunks()


def _plain(table: pa.Table, columns: list[str]) -> pa.Table:
    """``table``'s ``columns``: dictionaries decoded, one it lacks as nulls."""
    arrays = []
    for name in columns:
        if name not in table.column_names:
            arrays.append(pa.nulls(table.num_rows))
            continue
        column = table.column(name)
        arrays.append(column.cast(column.type.value_type) if pa.types.is_dictionary(column.type) else column)
    return pa.table(arrays, names=columns)


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
