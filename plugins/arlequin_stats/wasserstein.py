"""Wasserstein-1 (earth mover's) distance, normalised by the reference's standard deviation.

``W1 = integral |F_ref(x) - F_cur(x)| dx`` equals ``scipy.stats.wasserstein_distance``;
dividing by the reference standard deviation (``ddof=0``) makes it unit-free: 0.1
means the batch moved, on average, a tenth of a standard deviation. For a constant
reference (standard deviation 0) the distance is 0 when the batch is the same
constant and infinite otherwise. ``fit`` keeps the distinct sorted values and their
counts; ``score`` merges them with the sorted batch, never re-sorting the reference.

From a bounded state (:meth:`Wasserstein.score_cut_counts`, what the streaming and
Spark engines use) the batch is known only through its counts and offset sums in the
cells between consecutive distinct reference values ``u``. On each cell the reference
CDF ``r`` is constant and the batch CDF ``F`` rises from ``F_a`` to ``F_b``; the
integral of ``F - r`` over the cell, ``S``, is exact from the cell's count and sum.
Where ``F`` stays on one side of ``r`` (every cell outside the reference range, every
empty cell, and in practice all but a few), ``|S|`` *is* the cell's share of W1. Where
``F`` crosses ``r`` inside the cell, the share is ``|S| + 2 min(P, M)`` with ``P`` and
``M`` the parts above and below ``r``, bounded by ``(F_b - r) * width`` and
``(r - F_a) * (max - u[k-1])``; the estimate takes the middle of that range and
``details["error_bound"]`` (in the statistic's unit) is the sum of the half-widths:
``|estimate - exact| <= error_bound``. ``details["exact"]`` is true when no cell crossed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from arlequin_core.drift.base import Detector, DetectorInfo, Score
from arlequin_core.drift.columns import sorted_values
from arlequin_core.drift.cuts import CutCounts
from arlequin_core.drift.encoding import decode_array, profile_array


class Wasserstein(Detector):
    """W1 / std(reference); drift at or above the threshold (default 0.1)."""

    info = DetectorInfo(
        name="wasserstein",
        display_name="Wasserstein distance (normalised)",
        kinds=frozenset({"numeric"}),
        score="distance",
        default_threshold=0.1,
        description="Wasserstein-1 distance divided by the reference standard deviation.",
    )

    def __init__(self) -> None:
        self.values: np.ndarray | None = None
        self.counts: np.ndarray | None = None
        self.spread: float = 0.0

    def fit(self, reference: Any) -> Wasserstein:
        ordered = sorted_values(reference)
        if ordered.size == 0:
            raise ValueError("cannot fit wasserstein: the reference column has no non-missing values")
        ends = np.append(np.flatnonzero(ordered[1:] != ordered[:-1]), ordered.size - 1)
        self.values = ordered[ends]
        self.counts = np.diff(ends + 1, prepend=0).astype(np.int64)
        self.spread = float(np.std(ordered))
        return self

    def distance(self, current: Any) -> tuple[float, int]:
        """The raw W1 distance to ``current`` and the number of batch values used."""
        if self.values is None or self.counts is None:
            raise RuntimeError("wasserstein: score() called before fit()")
        batch = sorted_values(current)
        if batch.size == 0:
            raise ValueError("wasserstein: the batch column has no non-missing values")
        u, m = self.values, batch.size
        # Merge the two sorted arrays by their ranks (ties: reference first).
        grid = np.empty(u.size + m)
        weights_ref = np.zeros(u.size + m)
        at_ref = np.arange(u.size) + np.searchsorted(batch, u, side="left")
        at_cur = np.arange(m) + np.searchsorted(u, batch, side="right")
        grid[at_ref] = u
        grid[at_cur] = batch
        weights_ref[at_ref] = self.counts
        is_cur = np.zeros(u.size + m)
        is_cur[at_cur] = 1.0
        cdf_ref = np.cumsum(weights_ref)[:-1] / self.counts.sum()
        cdf_cur = np.cumsum(is_cur)[:-1] / m
        return float(np.sum(np.abs(cdf_ref - cdf_cur) * np.diff(grid))), int(m)

    def score(self, current: Any) -> Score:
        raw, m = self.distance(current)
        return Score(
            statistic=self._normalised(raw), details={"distance": raw, "reference_std": self.spread, "n_cur": m}
        )

    def _normalised(self, raw: float) -> float:
        # A constant reference has no spread: any move away from it is infinitely far.
        return raw / self.spread if self.spread > 0 else (0.0 if raw == 0 else float("inf"))

    #: States keep per-cell sums (see :class:`~arlequin_core.drift.cuts.CutCounts`).
    needs_sums = True

    def cut_points(self) -> np.ndarray:
        """The distinct reference values, ascending: the cells of :meth:`score_cut_counts`."""
        if self.values is None:
            raise RuntimeError("wasserstein: cut_points() called before fit()")
        return self.values

    def score_cut_counts(self, cuts: CutCounts) -> Score:
        """W1 from the batch's counts and offset sums between the reference values (see the module docstring)."""
        if self.values is None or self.counts is None:
            raise RuntimeError("wasserstein: score() called before fit()")
        u = self.values
        if cuts.counts.shape != (u.size + 1,) or cuts.sums is None:
            raise ValueError(f"wasserstein: expected counts and sums over {u.size + 1} cells")
        n2 = cuts.n
        if n2 == 0:
            raise ValueError("wasserstein: the batch column has no non-missing values")
        counts = cuts.counts.astype(np.float64)
        outside = -cuts.sums[0] / n2 + cuts.sums[-1] / n2  # below u[0] and above u[-1]: exact
        raw, bound = outside, 0.0
        if u.size > 1:
            width = np.diff(u)
            r = np.cumsum(self.counts)[:-1] / self.counts.sum()  # reference CDF on [u[k-1], u[k])
            c = counts[1:-1]
            before = np.cumsum(counts)[:-2]  # batch values < u[k-1]
            f_a = (before + cuts.at_lower[1:-1]) / n2
            f_b = (before + c) / n2
            # integral of F - r over the cell: F = before/n2 + (values <= x in the cell)/n2
            s = (before * width + (c * width - cuts.sums[1:-1])) / n2 - r * width
            crossing = (f_a < r) & (r < f_b)
            top = np.where(np.isnan(cuts.maxima[1:-1]), u[:-1], cuts.maxima[1:-1])
            half = np.where(crossing, np.minimum((f_b - r) * width, (r - f_a) * (top - u[:-1])), 0.0)
            half = np.maximum(half, 0.0)
            raw += float(np.sum(np.abs(s) + half))
            bound = float(np.sum(half))
        statistic = self._normalised(raw)
        error = bound / self.spread if self.spread > 0 else (0.0 if bound == 0 else float("inf"))
        return Score(
            statistic=statistic,
            details={
                "distance": raw,
                "reference_std": self.spread,
                "n_cur": n2,
                "exact": bound == 0.0,
                "error_bound": error,
            },
        )

    def to_profile(self) -> dict[str, Any]:
        if self.values is None or self.counts is None:
            raise RuntimeError("wasserstein: to_profile() called before fit()")
        return {"values": profile_array(self.values), "counts": profile_array(self.counts), "std": self.spread}

    @classmethod
    def from_profile(cls, profile: dict[str, Any]) -> Wasserstein:
        detector = cls()
        detector.values = decode_array(profile["values"]).astype(np.float64, copy=False)
        detector.counts = decode_array(profile["counts"]).astype(np.int64, copy=False)
        if detector.values.shape != detector.counts.shape or detector.values.size == 0:
            raise ValueError("wasserstein profile: 'values' and 'counts' must be non-empty and of equal length")
        detector.spread = float(profile["std"])
        return detector
