"""Wasserstein-1 (earth mover's) distance, normalised by the reference's standard deviation.

``W1 = integral |F_ref(x) - F_cur(x)| dx`` equals ``scipy.stats.wasserstein_distance``;
dividing by the reference standard deviation (``ddof=0``) makes it unit-free: 0.1
means the batch moved, on average, a tenth of a standard deviation. For a constant
reference (standard deviation 0) the distance is 0 when the batch is the same
constant and infinite otherwise. ``fit`` keeps the distinct sorted values and their
counts; ``score`` merges them with the sorted batch, never re-sorting the reference.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from arlequin_core.drift.base import Detector, DetectorInfo, Score
from arlequin_core.drift.columns import sorted_values
from arlequin_core.drift.encoding import decode_array, encode_array


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
        # A constant reference has no spread: any move away from it is infinitely far.
        statistic = raw / self.spread if self.spread > 0 else (0.0 if raw == 0 else float("inf"))
        return Score(statistic=statistic, details={"distance": raw, "reference_std": self.spread, "n_cur": m})

    def to_profile(self) -> dict[str, Any]:
        if self.values is None or self.counts is None:
            raise RuntimeError("wasserstein: to_profile() called before fit()")
        return {"values": encode_array(self.values), "counts": encode_array(self.counts), "std": self.spread}

    @classmethod
    def from_profile(cls, profile: dict[str, Any]) -> Wasserstein:
        detector = cls()
        detector.values = decode_array(profile["values"]).astype(np.float64, copy=False)
        detector.counts = decode_array(profile["counts"]).astype(np.int64, copy=False)
        if detector.values.shape != detector.counts.shape or detector.values.size == 0:
            raise ValueError("wasserstein profile: 'values' and 'counts' must be non-empty and of equal length")
        detector.spread = float(profile["std"])
        return detector
