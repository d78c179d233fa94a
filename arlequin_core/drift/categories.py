"""Category counts of a batch chunk, bounded by the reference: a mergeable state.

:class:`CategoryCounts` holds, for one categorical column,

* ``counts``: how many values equal each reference category (an array over the
  reference's keys, in the detector's order);
* ``unseen``: a bounded summary of the values the reference never had
  (:class:`UnseenSummary`): their number of rows (exact), their keys with counts
  (exact while at most :data:`UNSEEN_CAP` distinct ones were seen, then a
  Misra–Gries summary), and their number of distinct keys (exact while the keys are
  exact, else a k-minimum-values sketch of :data:`KMV_SIZE` hashes).

Its size is ``len(reference categories) + O(UNSEEN_CAP + KMV_SIZE)`` whatever the
batch, and :meth:`CategoryCounts.merge` is associative and commutative: merging the
states of any split of a batch gives the state of the whole batch while the unseen
keys are exact (at most :data:`UNSEEN_CAP` distinct), and a state within the bounds
below otherwise.

When the unseen keys overflow (an identifier column), the summary is *approximate*:

* each kept key's count is an underestimate by at most ``unseen.dropped`` (the
  Misra–Gries guarantee: ``dropped <= unseen rows / (UNSEEN_CAP + 1)``), and keys
  rarer than that may be missing;
* the number of distinct unseen keys is the KMV estimate ``(k - 1) / h_k`` (``h_k`` the
  k-th smallest normalised hash), relative standard error ``1 / sqrt(k - 2)``, about
  1.6 % for k = 4096 (Bar-Yossef et al. 2002; Beyer et al. 2007).

Categories are compared by :func:`~arlequin_core.drift.columns.category_key`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from arlequin_core.drift.columns import as_arrow, category_key, is_missing

#: Distinct unseen keys kept with their counts; beyond, the summary is Misra–Gries.
UNSEEN_CAP = 4096
#: Hashes kept by the distinct-count sketch of unseen keys.
KMV_SIZE = 4096
_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


@dataclass
class UnseenSummary:
    """Values the reference never had (see the module docstring)."""

    rows: int = 0
    keys: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))
    counts: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    #: Misra–Gries decrements so far: each count may be short by at most this (0: exact).
    dropped: int = 0
    #: The smallest distinct 64-bit hashes of unseen keys, ascending, at most KMV_SIZE.
    hashes: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint64))

    @property
    def exact(self) -> bool:
        """True when ``keys``/``counts`` hold every unseen key with its exact count."""
        return self.dropped == 0

    def distinct(self) -> tuple[float, float]:
        """The number of distinct unseen keys and its standard error (0 when exact)."""
        if self.exact:
            return float(self.keys.size), 0.0
        if self.hashes.size < KMV_SIZE:
            return float(self.hashes.size), 0.0
        h_k = (float(self.hashes[-1]) + 1.0) / 2.0**64
        estimate = max((KMV_SIZE - 1) / h_k, float(self.keys.size))
        return estimate, estimate / math.sqrt(KMV_SIZE - 2)

    def merge(self, other: UnseenSummary) -> UnseenSummary:
        """The summary of both parts (associative; exact while both are and the union fits)."""
        if other.rows == 0:
            return self
        if self.rows == 0:
            return other
        keys = np.concatenate([self.keys, other.keys])
        counts = np.concatenate([self.counts, other.counts])
        return _summary(self.rows + other.rows, keys, counts, self.dropped + other.dropped, self.hashes, other.hashes)


@dataclass
class CategoryCounts:
    """Counts of one categorical chunk over the reference's categories, plus unseen ones."""

    counts: np.ndarray
    unseen: UnseenSummary = field(default_factory=UnseenSummary)

    @property
    def n(self) -> int:
        """Non-missing values counted."""
        return int(self.counts.sum()) + self.unseen.rows

    def merge(self, other: CategoryCounts) -> CategoryCounts:
        """The counts of both parts."""
        if self.counts.shape != other.counts.shape:
            raise ValueError(f"cannot merge counts over {self.counts.size} and {other.counts.size} categories")
        return CategoryCounts(self.counts + other.counts, self.unseen.merge(other.unseen))

    def observed(self, reference_keys: list[str]) -> dict[str, int]:
        """Key -> count (> 0) of every category counted: the reference's, then the unseen kept."""
        observed = {key: int(c) for key, c in zip(reference_keys, self.counts.tolist(), strict=True) if c}
        for key, count in zip(self.unseen.keys.tolist(), self.unseen.counts.tolist(), strict=True):
            observed[key] = observed.get(key, 0) + int(count)
        return observed


class CategoryIndex:
    """The reference categories of a fitted detector, to count chunks against (built once)."""

    def __init__(self, keys: list[str]) -> None:
        self.keys = list(keys)
        self._value_set = pa.array(self.keys, type=pa.string())

    def counts(self, values: Any, *, unseen: bool = True) -> CategoryCounts:
        """:class:`CategoryCounts` of one chunk (an Arrow array of any type; missing left out).

        :param unseen: also summarise the values not among the keys (else only the keys are counted).
        """
        keys = key_array(as_arrow(values))
        counts = np.zeros(len(self.keys), dtype=np.int64)
        if len(keys) == 0:
            return CategoryCounts(counts)
        index = pc.index_in(keys, value_set=self._value_set)
        known = index.drop_null().to_numpy(zero_copy_only=False)
        if known.size:
            counts += np.bincount(known, minlength=len(self.keys)).astype(np.int64)
        if not unseen:
            return CategoryCounts(counts)
        others = keys.filter(pc.and_(pc.is_null(index), pc.is_valid(keys)))
        if len(others) == 0:
            return CategoryCounts(counts)
        counted = pc.value_counts(others)
        distinct = counted.field("values")
        found = counted.field("counts").to_numpy().astype(np.int64)
        hashes = _smallest(hash_keys(distinct))
        dropped = 0
        if found.size > UNSEEN_CAP:  # prune before any key becomes a Python object
            keep, dropped = _misra_gries(found)
            distinct, found = distinct.filter(pa.array(keep)), found[keep] - dropped
        keys = distinct.to_numpy(zero_copy_only=False).astype(object)
        return CategoryCounts(counts, _ordered(len(others), keys, found, dropped, hashes))


def key_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The :func:`~arlequin_core.drift.columns.category_key` of every value as a string array (null: missing).

    Strings and integers are converted by Arrow; other types through their distinct values.
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    kind = values.type
    if pa.types.is_dictionary(kind):
        return key_array(values.dictionary_decode())
    if pa.types.is_string(kind):
        return values
    if pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return values.cast(pa.string())
    if pa.types.is_integer(kind):
        return values.cast(pa.string())
    encoded = values.dictionary_encode()
    names = [None if is_missing(v) else category_key(v) for v in encoded.dictionary.to_pylist()]
    return pc.take(pa.array(names, type=pa.string()), encoded.indices)


def hash_keys(keys: pa.Array) -> np.ndarray:
    """A 64-bit hash of every string of ``keys`` (no nulls), vectorised: a polynomial over
    the UTF-8 bytes, then splitmix64's finaliser. Deterministic across processes and machines."""
    keys = keys.cast(pa.string()) if not pa.types.is_string(keys.type) else keys
    n = len(keys)
    if n == 0:
        return np.empty(0, dtype=np.uint64)
    offsets = np.frombuffer(keys.buffers()[1], dtype=np.int32)[keys.offset : keys.offset + n + 1].astype(np.int64)
    data = keys.buffers()[2]
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.empty(0, dtype=np.uint8)
    start = offsets[0]
    window = raw[start : offsets[-1]].astype(np.uint64)
    lengths = np.diff(offsets)
    position = np.arange(window.size, dtype=np.int64) - np.repeat(offsets[:-1] - start, lengths)
    longest = int(lengths.max()) if lengths.size else 0
    with np.errstate(over="ignore"):
        powers = np.cumprod(np.full(max(longest, 1), np.uint64(0x100000001B3), dtype=np.uint64)).astype(np.uint64)
        terms = (window + np.uint64(1)) * powers[position] if window.size else window
        total = np.concatenate([np.zeros(1, dtype=np.uint64), np.cumsum(terms, dtype=np.uint64)])
        h = total[offsets[1:] - start] - total[offsets[:-1] - start]
        h ^= lengths.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        h = h ^ (h >> np.uint64(31))
    return h & _MASK64


def _summary(rows: int, keys: np.ndarray, counts: np.ndarray, dropped: int, *hash_sets: np.ndarray) -> UnseenSummary:
    """An :class:`UnseenSummary` of (possibly repeated) ``keys``: counts summed, then cut to the cap."""
    if keys.size:
        grouped = pa.table({"k": pa.array(keys, type=pa.string()), "c": counts}).group_by("k").aggregate([("c", "sum")])
        keys = grouped.column("k").to_numpy(zero_copy_only=False).astype(object)
        counts = grouped.column("c_sum").to_numpy().astype(np.int64)
    if keys.size > UNSEEN_CAP:
        keep, cut = _misra_gries(counts)
        keys, counts, dropped = keys[keep], counts[keep] - cut, dropped + cut
    hashes = _smallest(np.concatenate(hash_sets)) if hash_sets else np.empty(0, dtype=np.uint64)
    return _ordered(rows, keys, counts, dropped, hashes)


def _misra_gries(counts: np.ndarray) -> tuple[np.ndarray, int]:
    """Misra–Gries pruning to at most UNSEEN_CAP keys: the (cap+1)-th largest count is
    subtracted from every count; returns which keys stay positive, and that amount."""
    at = counts.size - UNSEEN_CAP - 1
    cut = int(np.partition(counts, at)[at])
    return counts > cut, cut


def _smallest(hashes: np.ndarray) -> np.ndarray:
    """The KMV_SIZE smallest distinct values of ``hashes``, ascending."""
    if hashes.size > 2 * KMV_SIZE:
        hashes = np.partition(hashes, 2 * KMV_SIZE)[: 2 * KMV_SIZE + 1]
    return np.unique(hashes)[:KMV_SIZE]


def _ordered(rows: int, keys: np.ndarray, counts: np.ndarray, dropped: int, hashes: np.ndarray) -> UnseenSummary:
    order = np.lexsort((keys.astype(str), -counts)) if keys.size else np.empty(0, dtype=np.int64)
    return UnseenSummary(rows=rows, keys=keys[order], counts=counts[order], dropped=dropped, hashes=hashes)
