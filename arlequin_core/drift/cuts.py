"""Counts of a numeric batch between fixed cut points: what a detector needs when the batch stays in Spark.

With ``u`` the strictly increasing cut points of a fitted detector (``K`` of them), a
value ``x`` falls in cell ``searchsorted(u, x, side="right")``: cell 0 is
``x < u[0]``, cell ``k`` is ``u[k-1] <= x < u[k]`` and cell ``K`` is ``x >= u[K-1]``.
Per cell, :class:`CutCounts` holds how many values fall in it, how many of those equal
its lower cut exactly, and the largest. Their size is ``K + 1`` whatever the batch
size, so an engine computes them where the batch lives (one aggregation) and a
detector scores from them exactly (see ``score_cut_counts`` of ``ks``, ``psi``, ``kl``
and ``jensen_shannon``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CutCounts:
    """Per-cell counts of a batch between the cut points ``u`` (all arrays of shape ``(K + 1,)``).

    :param counts: values in each cell.
    :param at_lower: values in each cell equal to its lower cut ``u[k-1]`` (always 0 in cell 0).
    :param maxima: the largest value in each cell, NaN for an empty cell.
    :param sums: per cell, the sum of ``x - anchor`` over its values, the anchor being its
        lower cut ``u[k-1]`` (cell 0: ``u[0]``): offsets, so that sums of values far from 0
        lose no precision. Kept for ``wasserstein``; None when not needed.
    """

    counts: np.ndarray
    at_lower: np.ndarray
    maxima: np.ndarray
    sums: np.ndarray | None = None

    def merge(self, other: CutCounts) -> CutCounts:
        """The counts of both parts of a batch (associative and commutative; sums up to rounding)."""
        if self.counts.shape != other.counts.shape:
            raise ValueError(f"cannot merge counts over {self.counts.size} and {other.counts.size} cells")
        sums = None if self.sums is None or other.sums is None else self.sums + other.sums
        return CutCounts(
            counts=self.counts + other.counts,
            at_lower=self.at_lower + other.at_lower,
            maxima=np.fmax(self.maxima, other.maxima),
            sums=sums,
        )

    @property
    def n(self) -> int:
        """Number of values counted."""
        return int(self.counts.sum())

    def less(self) -> np.ndarray:
        """``#(x < u[k])`` for every cut ``k``, shape ``(K,)``."""
        return np.cumsum(self.counts)[:-1]

    def at_most(self) -> np.ndarray:
        """``#(x <= u[k])`` for every cut ``k``, shape ``(K,)``."""
        return self.less() + self.at_lower[1:]

    def largest_below(self) -> np.ndarray:
        """The largest value ``< u[k]`` for every cut ``k`` (NaN when there is none), shape ``(K,)``."""
        maxima = self.maxima[:-1]
        seen = np.where(np.isnan(maxima), -np.inf, maxima)
        return np.where(self.less() == 0, np.nan, np.maximum.accumulate(seen))


def cut_counts(values: np.ndarray, cuts: np.ndarray, *, sums: bool = False, presorted: bool = False) -> CutCounts:
    """:class:`CutCounts` of the non-NaN ``values`` (1-D float64) between ``cuts`` (strictly increasing), in numpy.

    The values are sorted once; every count is then a binary search of a cut in them.

    :param sums: also sum the values of each cell, as offsets from its anchor (see :class:`CutCounts`).
    :param presorted: ``values`` are already sorted ascending without NaN.
    """
    ordered = np.asarray(values, dtype=np.float64) if presorted else np.sort(np.asarray(values, dtype=np.float64))
    if ordered.size and np.isnan(ordered[-1]):
        ordered = ordered[: int(np.searchsorted(ordered, np.nan, side="left"))]
    n = ordered.size
    below = np.searchsorted(ordered, cuts, side="left").astype(np.int64)
    less = np.concatenate(([0], below, [n]))
    counts = np.diff(less)
    at_lower = np.zeros(counts.size, dtype=np.int64)
    maxima = np.full(counts.size, np.nan)
    if n:
        # #(x <= u) differs from #(x < u) only where u occurs in the values: search again only there.
        tied = np.flatnonzero((ordered[np.minimum(below, n - 1)] == cuts) & (below < n))
        if tied.size:
            at_lower[tied + 1] = np.searchsorted(ordered, cuts[tied], side="right") - below[tied]
        filled = counts > 0
        maxima = np.where(filled, ordered[np.maximum(less[1:] - 1, 0)], np.nan)
    cell_sums = None
    if sums:
        cell_sums = np.zeros(counts.size)
        if n:
            anchors = np.concatenate((cuts[:1], cuts)) if cuts.size else np.zeros(1)
            cell = np.repeat(np.arange(counts.size), counts)
            cell_sums[filled] = np.add.reduceat(ordered - anchors[cell], less[:-1][filled])
    return CutCounts(counts=counts, at_lower=at_lower, maxima=maxima, sums=cell_sums)
