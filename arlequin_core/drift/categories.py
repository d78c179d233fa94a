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
#: Reference categories up to which a plain string chunk is dictionary-encoded before counting.
DICTIONARY_MAX = 65_536
#: Hashes kept by the distinct-count sketch of unseen keys.
KMV_SIZE = 4096
_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)
_PRIME = np.uint64(0x9FB21C651E98DF25)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
#: Masks keeping the first 0..8 bytes of a little-endian word.
_WORD_MASKS = np.array([(1 << (8 * b)) - 1 for b in range(8)] + [(1 << 64) - 1], dtype=np.uint64)


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
    """The reference categories of a fitted detector, to count chunks against (built once).

    A chunk is counted in one of three ways, all giving the same :class:`CategoryCounts`:

    * **dictionary-encoded** (Parquet string columns read as dictionaries, or plain
      strings when the reference has at most :data:`DICTIONARY_MAX` categories, which
      are encoded first): the dictionary's keys are looked up and the rows counted by
      dictionary index, so the work per row is one ``bincount``;
    * **plain strings** against a larger reference (identifiers): every key is hashed
      once (:func:`hash_keys`) and looked up among the reference keys' hashes (a
      bucketed sorted table built once); the unseen keys are grouped by hash (their
      smallest hashes are the distinct-count sketch). Every key found by hash is then
      compared as a string with the key it was matched to, so a hash collision can
      never miscount: on one (or on reference keys that collide with each other) the
      chunk is counted by Arrow's ``index_in`` and ``value_counts`` instead;
    * anything else: Arrow's ``index_in`` and ``value_counts`` on the keys.
    """

    def __init__(self, keys: list[str]) -> None:
        self.keys = list(keys)
        self._value_set = pa.array(self.keys, type=pa.string())
        self._lookup: _HashLookup | None = None
        self._hashed = False

    def counts(self, values: Any, *, unseen: bool = True) -> CategoryCounts:
        """:class:`CategoryCounts` of one chunk (an Arrow array of any type; missing left out).

        :param unseen: also summarise the values not among the keys (else only the keys are counted).
        """
        array = as_arrow(values)
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
        if len(array) == 0:
            return CategoryCounts(np.zeros(len(self.keys), dtype=np.int64))
        if pa.types.is_string(array.type) and len(self.keys) <= DICTIONARY_MAX:
            array = array.dictionary_encode()
        if pa.types.is_dictionary(array.type):
            return self._dictionary_counts(array, unseen)
        keys = key_array(array)
        if len(self.keys) > DICTIONARY_MAX:
            counted = self._hashed_counts(keys, unseen)
            if counted is not None:
                return counted
        return self._arrow_counts(keys, unseen)

    def _arrow_counts(self, keys: pa.Array, unseen: bool) -> CategoryCounts:
        counts = np.zeros(len(self.keys), dtype=np.int64)
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
        return CategoryCounts(counts, _unseen(len(others), counted.field("values"), counted.field("counts").to_numpy()))

    def _dictionary_counts(self, array: pa.DictionaryArray, unseen: bool) -> CategoryCounts:
        words = key_array(array.dictionary)
        indices = array.indices
        if indices.null_count:
            indices = indices.drop_null()
        per_word = np.bincount(indices.to_numpy(zero_copy_only=False), minlength=len(words)).astype(np.int64)
        position = pc.index_in(words, value_set=self._value_set).fill_null(-1).to_numpy(zero_copy_only=False)
        known = position >= 0
        counts = np.bincount(position[known], weights=per_word[known], minlength=len(self.keys)).astype(np.int64)
        if not unseen:
            return CategoryCounts(counts)
        rest = ~known & (per_word > 0)
        if words.null_count:
            rest &= words.is_valid().to_numpy(zero_copy_only=False)
        if not rest.any():
            return CategoryCounts(counts)
        found = per_word[rest]
        others = words.filter(pa.array(rest))
        if len(pc.unique(others)) < len(others):  # two dictionary values with one key (e.g. 0.0 and -0.0)
            grouped = pa.table({"k": others, "c": found}).group_by("k").aggregate([("c", "sum")])
            others, found = grouped.column("k").combine_chunks(), grouped.column("c_sum").to_numpy()
        return CategoryCounts(counts, _unseen(int(found.sum()), others, found))

    def _hashed_counts(self, keys: pa.Array, unseen: bool) -> CategoryCounts | None:
        if not self._hashed:
            self._hashed = True
            hashes = hash_keys(self._value_set)
            self._lookup = _HashLookup(hashes) if np.unique(hashes).size == hashes.size else None
        if self._lookup is None:
            return None
        hashes = hash_keys(keys)
        position = self._lookup.find(hashes)
        valid = keys.is_valid().to_numpy(zero_copy_only=False) if keys.null_count else None
        found = position >= 0 if valid is None else (position >= 0) & valid
        rows = np.flatnonzero(found)
        if rows.size and not _same_keys(keys, rows, self._value_set, position[rows]):
            return None
        counts = np.bincount(position[rows], minlength=len(self.keys)).astype(np.int64)
        if not unseen:
            return CategoryCounts(counts)
        others = np.flatnonzero(~found if valid is None else ~found & valid)
        if others.size == 0:
            return CategoryCounts(counts)
        mine = hashes[others]
        ordered = np.sort(mine)
        first = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
        distinct = ordered[first]
        tally = np.diff(np.append(first, ordered.size)).astype(np.int64)
        dropped = 0
        if tally.size > UNSEEN_CAP:  # prune by hash before any key is taken
            keep, dropped = _misra_gries(tally)
            kept, tally = distinct[keep], tally[keep] - dropped
        else:
            kept = distinct
        if kept.size == 0:
            return CategoryCounts(
                counts, _ordered(others.size, np.empty(0, dtype=object), tally, dropped, distinct[:KMV_SIZE])
            )
        # One row per kept hash, then every row of a kept hash compared with it as a string.
        group = _HashLookup(kept).find(mine)
        member = group >= 0
        member_rows, member_group = others[member], group[member]
        sample = np.empty(kept.size, dtype=np.int64)
        sample[member_group] = member_rows
        if not _same_keys(keys, member_rows, keys, sample[member_group]):
            return None
        names = keys.take(pa.array(sample)).to_numpy(zero_copy_only=False).astype(object)
        return CategoryCounts(counts, _ordered(others.size, names, tally, dropped, distinct[:KMV_SIZE]))


_SLOT = np.dtype([("hash", np.uint64), ("position", np.int64)])


class _HashLookup:
    """Where each of many 64-bit hashes occurs among fixed distinct ones, vectorised.

    A direct-mapped table indexed by the hashes' top bits (at least two slots per hash)
    holds, per slot, its hash and position side by side (one cache line per lookup);
    a lookup is one gather and one comparison. A slot two or more hashes share is
    marked (position -2) and its hashes are found in the sorted list by a probe over the
    slot's range, for the lookups that land there only.
    """

    def __init__(self, hashes: np.ndarray) -> None:
        order = np.argsort(hashes)
        self.sorted, self.order = hashes[order], order
        bits = max(4, int(np.ceil(np.log2(max(hashes.size, 1)))) + 1)
        self.shift = np.uint64(64 - bits)
        slot = (self.sorted >> self.shift).astype(np.int64)
        self.starts = np.searchsorted(slot, np.arange((1 << bits) + 1))
        sizes = np.diff(self.starts)
        self.depth = int(sizes.max()) if hashes.size else 0
        # Column 0: the slot's hash (0 when empty or shared); column 1: its position, -1
        # when empty, -2 when shared. A needle hashing to 0 in an empty slot finds -1: absent.
        self.table = np.zeros(1 << bits, dtype=_SLOT)
        self.table["position"] = -1
        alone = np.flatnonzero(sizes == 1)
        self.table["hash"][alone] = self.sorted[self.starts[alone]]
        self.table["position"][alone] = order[self.starts[alone]]
        self.table["position"][sizes > 1] = -2

    def find(self, hashes: np.ndarray) -> np.ndarray:
        """Position (in the original order) of every hash of ``hashes``, -1 for one not there."""
        slot = np.right_shift(hashes, self.shift).view(np.int64)
        entry = self.table[slot]  # 16-byte records: one gather
        position = entry["position"]
        out = np.where(entry["hash"] == hashes, position, -1)
        if self.depth > 1:
            live = np.flatnonzero(position == -2)
            low = self.starts[slot[live]]
            size = self.starts[slot[live] + 1] - low
            for probe in range(self.depth):
                keep = size > probe
                live, low, size = live[keep], low[keep], size[keep]
                hit = self.sorted[low + probe] == hashes[live]
                out[live[hit]] = self.order[low[hit] + probe]
        return out


def _same_keys(a: pa.Array, rows: np.ndarray, b: pa.Array, others: np.ndarray) -> bool:
    """Whether ``a[rows[i]] == b[others[i]]`` for every ``i`` (strings)."""
    if rows.size == 0:
        return True
    equal = pc.equal(a.take(pa.array(rows)), b.take(pa.array(others)))
    return bool(pc.all(equal).as_py())


def _unseen(rows: int, distinct: pa.Array, found: np.ndarray) -> UnseenSummary:
    """The summary of ``rows`` unseen values: ``distinct`` keys (no repeats) and their counts."""
    found = np.asarray(found).astype(np.int64)
    hashes = _smallest(hash_keys(distinct))
    dropped = 0
    if found.size > UNSEEN_CAP:  # prune before any key becomes a Python object
        keep, dropped = _misra_gries(found)
        distinct, found = distinct.filter(pa.array(keep)), found[keep] - dropped
    keys = distinct.to_numpy(zero_copy_only=False).astype(object)
    return _ordered(rows, keys, found, dropped, hashes)


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
    """A 64-bit hash of every string of ``keys`` (null slots hash as their bytes, usually empty), vectorised.

    The UTF-8 bytes are read as little-endian 64-bit words (the last one zero-padded);
    starting from the length times a golden-ratio constant, each word is xor-ed in,
    multiplied by an odd constant and folded (``h ^= h >> 29``), then splitmix64's
    finaliser mixes the result. One pass over all keys per 8 bytes of the longest key
    (identifiers: one or two). Deterministic across processes and machines.
    """
    keys = keys.cast(pa.string()) if not pa.types.is_string(keys.type) else keys
    n = len(keys)
    if n == 0:
        return np.empty(0, dtype=np.uint64)
    offsets = np.frombuffer(keys.buffers()[1], dtype=np.int32)[keys.offset : keys.offset + n + 1].astype(np.int64)
    data = keys.buffers()[2]
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.empty(0, dtype=np.uint8)
    low, high = int(offsets[0]), int(offsets[-1])
    padded = np.zeros(high - low + 8, dtype=np.uint8)
    padded[: high - low] = raw[low:high]
    # Every byte position as the start of an (unaligned) little-endian word.
    words = np.ndarray((high - low + 1,), dtype="<u8", buffer=padded, strides=(1,))
    starts, lengths = offsets[:-1] - low, np.diff(offsets)
    h = lengths.astype(np.uint64)
    h *= _GOLDEN
    live: np.ndarray | None = None  # the keys longer than 8 * k bytes, once some are not
    with np.errstate(over="ignore"):
        for k in range((int(lengths.max()) + 7) // 8):
            if live is None and int(lengths.min()) <= 8 * k:
                live = np.flatnonzero(lengths > 8 * k)
            elif live is not None:
                live = live[lengths[live] > 8 * k]
            rest = (lengths if live is None else lengths[live]) - 8 * k  # >= 1 here
            word = words[(starts if live is None else starts[live]) + 8 * k]
            word &= _WORD_MASKS[np.minimum(rest, 8)]  # the key's own bytes of the word
            word ^= h if live is None else h[live]
            word *= _PRIME
            _fold(word, 29, word)
            if live is None:
                h = word
            else:
                h[live] = word
        # splitmix64's finaliser, in place.
        spare = np.empty_like(h)
        _fold(h, 30, spare)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        _fold(h, 27, spare)
        h *= np.uint64(0x94D049BB133111EB)
        _fold(h, 31, spare)
    return h


def _fold(h: np.ndarray, bits: int, spare: np.ndarray) -> None:
    """``h ^= h >> bits`` in place (``spare``: a buffer of h's shape, or h's copy)."""
    if spare is h:
        h ^= h >> np.uint64(bits)
        return
    np.right_shift(h, np.uint64(bits), out=spare)
    h ^= spare


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
