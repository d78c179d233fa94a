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
    """

    counts: np.ndarray
    at_lower: np.ndarray
    maxima: np.ndarray

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


def cut_counts(values: np.ndarray, cuts: np.ndarray) -> CutCounts:
    """:class:`CutCounts` of the non-NaN ``values`` (1-D float64) between ``cuts`` (strictly increasing), in numpy."""
    values = np.asarray(values, dtype=np.float64)
    values = values[~np.isnan(values)]
    cells = np.searchsorted(cuts, values, side="right")
    size = cuts.size + 1
    counts = np.bincount(cells, minlength=size).astype(np.int64)
    lower = np.concatenate(([np.nan], cuts))
    at_lower = np.bincount(cells[values == lower[cells]], minlength=size).astype(np.int64)
    maxima = np.full(size, np.nan)
    if values.size:
        order = np.lexsort((values, cells))
        last = np.flatnonzero(np.append(cells[order][1:] != cells[order][:-1], True))
        maxima[cells[order][last]] = values[order][last]
    return CutCounts(counts=counts, at_lower=at_lower, maxima=maxima)
