"""Plot bins that cover both samples: the reference's grid, extended to where the batch lies.

The profile keeps each numeric column's reference histogram: ``B`` equal bins between
its 0.1 % and 99.9 % quantiles (:mod:`arlequin_core.drift.summary`; equal in log space
for ``"scale": "log"``). A batch that moved far lands outside them, and a plot drawn on
those bins alone shows an empty batch curve. So the batch's values *outside* the
reference bins are counted too, on the same grid continued outward:

* grid coordinate ``u`` of a value: ``(x - edges[0]) / width`` (in ``log10`` for a log
  scale), so reference bin ``j`` is ``[j, j + 1)`` and the reference covers ``[0, B]``;
* a value outside falls in cell ``floor(u / 2**level)``; ``level`` is the smallest at
  which the distinct cells number at most :data:`MAX_CELLS` (so the state stays small
  however far and wide the batch spreads);
* :class:`Outside` is that count, plus the batch's smallest and largest value. Two
  parts merge exactly (coarsen both to the larger level, add, coarsen while too many
  cells), and the merged level is again the smallest that fits, so the result does not
  depend on how a batch was split: the streaming engines' plots equal the in-memory ones.

:func:`common_bins` then picks plot bins aligned with the reference's, ``2**L`` of its
bins wide, spanning both samples in at most :data:`PLOT_BINS` bins, and sums both
samples' counts into them, exactly (no interpolation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: At most this many cells outside the reference bins are kept per column and batch.
MAX_CELLS = 256
#: A plot over both samples has at most this many bins.
PLOT_BINS = 60


@dataclass
class Outside:
    """The batch values outside a numeric column's reference plot bins (see the module docstring).

    :param level: cells are ``2**level`` reference bins wide.
    :param cells: cell index (on the grid; negative below the reference) -> count.
    :param low: the smallest finite batch value seen outside (None: nothing outside);
        ``high``: the largest.
    :param nonpositive: values <= 0 on a log-scale column (they have no place on a log axis).
    """

    level: int = 0
    cells: dict[int, int] = field(default_factory=dict)
    low: float | None = None
    high: float | None = None
    nonpositive: int = 0

    @classmethod
    def of_sorted(cls, ordered: np.ndarray, summary: dict[str, Any]) -> Outside:
        """The outside values of ``ordered`` (float64, sorted ascending, no NaN; infinities ignored)."""
        edges = summary["edges"]
        below = ordered[np.searchsorted(ordered, -np.inf, side="right") : np.searchsorted(ordered, edges[0], "left")]
        above = ordered[np.searchsorted(ordered, edges[-1], "right") : np.searchsorted(ordered, np.inf, "left")]
        result = cls()
        if below.size + above.size == 0:
            return result
        result.low = float(below[0] if below.size else above[0])
        result.high = float(above[-1] if above.size else below[-1])
        grid = _Grid(summary)
        if grid.log:
            result.nonpositive = int(np.searchsorted(below, 0.0, side="right"))
            below = below[result.nonpositive :]
        keys, counts = [], []
        # Cells clamped to the outside (a value a rounding error from an edge stays out of the
        # reference's bins); monotone in the value, so each side's cells are sorted: runs in one pass.
        for side, clamp in ((below, np.minimum), (above, np.maximum)):
            u = grid.to_u(side)
            u = u[np.isfinite(u)] if u.size and not (np.isfinite(u[0]) and np.isfinite(u[-1])) else u
            if u.size:
                cells = clamp(np.floor(u), -1.0 if clamp is np.minimum else float(grid.bins))
                starts = np.concatenate(([0], np.flatnonzero(np.diff(cells)) + 1))
                keys.append(cells[starts])
                counts.append(np.diff(np.append(starts, cells.size)))
        if not keys:
            return result
        key, count = np.concatenate(keys), np.concatenate(counts)
        if key.size > MAX_CELLS:
            # A level-k cell holds at most 2**k level-0 cells: the smallest level that fits is at least this.
            result.level = max(0, math.ceil(math.log2(key.size / MAX_CELLS)) - 1)
            if result.level:
                key, count = _runs(np.floor(key / 2.0**result.level), count)
        while key.size > MAX_CELLS:
            key, count = _runs(np.floor(key / 2.0), count)
            result.level += 1
        result.cells = {int(k): int(c) for k, c in zip(key.tolist(), count.tolist(), strict=True)}
        return result

    @classmethod
    def of_values(cls, values: np.ndarray, summary: dict[str, Any]) -> Outside:
        """As :meth:`of_sorted`, for unsorted float values (NaN allowed)."""
        finite = values[np.isfinite(values)]
        edges = summary["edges"]
        return cls.of_sorted(np.sort(finite[(finite < edges[0]) | (finite > edges[-1])]), summary)

    def merge(self, other: Outside) -> Outside:
        """The outside values of two parts of a batch."""
        level = max(self.level, other.level)
        cells = _coarsen(self.cells, level - self.level)
        for key, count in _coarsen(other.cells, level - other.level).items():
            cells[key] = cells.get(key, 0) + count
        lows = [v for v in (self.low, other.low) if v is not None]
        highs = [v for v in (self.high, other.high) if v is not None]
        return Outside(
            level,
            cells,
            min(lows) if lows else None,
            max(highs) if highs else None,
            self.nonpositive + other.nonpositive,
        )._fit()

    def _fit(self) -> Outside:
        while len(self.cells) > MAX_CELLS:
            self.cells = _coarsen(self.cells, 1)
            self.level += 1
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``cells`` as ``[[index, count], ...]`` in index order."""
        return {
            "level": self.level,
            "cells": [[k, c] for k, c in sorted(self.cells.items())],
            "low": self.low,
            "high": self.high,
            "nonpositive": self.nonpositive,
        }


def _runs(keys: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted ``keys`` with repeats -> distinct keys and their summed ``counts``."""
    starts = np.concatenate(([0], np.flatnonzero(np.diff(keys)) + 1))
    return keys[starts], np.add.reduceat(counts, starts)


def _coarsen(cells: dict[int, int], steps: int) -> dict[int, int]:
    if steps == 0:
        return dict(cells)
    out: dict[int, int] = {}
    for key, count in cells.items():
        k = key >> steps  # floor division by 2**steps, negative keys included
        out[k] = out.get(k, 0) + count
    return out


class _Grid:
    """The reference summary's bins as a uniform grid (linear or log10)."""

    def __init__(self, summary: dict[str, Any]) -> None:
        edges = summary["edges"]
        self.bins = len(edges) - 1
        self.log = summary.get("scale") == "log"
        first, last = (math.log10(edges[0]), math.log10(edges[-1])) if self.log else (edges[0], edges[-1])
        self.origin = first
        self.width = (last - first) / self.bins

    def to_u(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return ((np.log10(x) if self.log else x) - self.origin) / self.width

    def to_x(self, u: np.ndarray) -> np.ndarray:
        x = self.origin + u * self.width
        return 10.0**x if self.log else x


def common_bins(reference: dict[str, Any], batch: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Plot bins covering the reference's bins and every batch value, with both samples' counts.

    :param reference: the profile's histogram summary; ``batch``: the batch's summary on the
        same bins, with ``"outside"`` (:meth:`Outside.to_dict`).
    :returns: ``(edges, reference counts, batch counts)`` (edges one longer), or None when
        nothing of the batch lies outside the reference bins (then those bins do).
        The reference's own tails (its values beyond the 0.1 % / 99.9 % quantiles) are not
        in the profile, so they stay out of its counts.
    """
    outside = batch.get("outside")
    if not outside or not outside["cells"]:
        return None
    grid = _Grid(reference)
    level, cells = int(outside["level"]), outside["cells"]
    first = min(0, cells[0][0] << level)  # in reference bins
    last = max(grid.bins, (cells[-1][0] + 1) << level)
    plot_level = max(level, math.ceil(math.log2(max((last - first) / PLOT_BINS, 1.0))))
    start, stop = first >> plot_level, ((last - 1) >> plot_level) + 1
    ref_counts = np.zeros(stop - start, dtype=np.int64)
    cur_counts = np.zeros(stop - start, dtype=np.int64)
    for j, (r, c) in enumerate(zip(reference["counts"], batch["counts"], strict=True)):
        ref_counts[(j >> plot_level) - start] += r
        cur_counts[(j >> plot_level) - start] += c
    for key, count in cells:
        cur_counts[(key >> (plot_level - level)) - start] += count
    u = np.ldexp(np.arange(start, stop + 1, dtype=np.float64), plot_level)
    edges = grid.to_x(u)
    if not np.all(np.isfinite(edges)) or not np.all(np.diff(edges) > 0):
        return None  # beyond float range: the reference bins, with the outside share in the legend
    return edges, ref_counts, cur_counts
