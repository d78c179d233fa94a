"""Example third-party plugin: Welch's two-sample t-test on a column's mean.

Assumptions: the two samples are independent and their means roughly normal (large
samples, or normal data); variances may differ. It detects a shift of the mean only,
not of the shape. Missing values are ignored. Default threshold: p < 0.05.

The statistic and p-value equal ``scipy.stats.ttest_ind(ref, cur, equal_var=False)``.
The reference is kept as three numbers (n, mean, variance), so scoring never touches it.

It also streams: a chunk's state is ``(n, mean, sum of squared deviations)``, merged
with Chan et al.'s parallel formula, so an engine can score a batch it never holds
whole (``chunk_state``, ``merge_states``, ``score_state``; see arlequin_core.drift.base).

The entry point is :mod:`arlequin_welch_plugin`, which registers this class by name
only, so ``arlequin --help`` never imports numpy and scipy for it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

from arlequin_core.drift.base import Detector, DetectorInfo, Score


def _clean(values: Any) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    return array[~np.isnan(array)]


class Welch(Detector):
    """Welch's t-test of the current batch's mean against the reference's."""

    info = DetectorInfo(
        name="welch",
        display_name="Welch t-test",
        kinds=frozenset({"numeric"}),
        score="p_value",
        default_threshold=0.05,
        description="Two-sample t-test with unequal variances on the column mean.",
    )

    def __init__(self) -> None:
        self.n = 0
        self.mean = float("nan")
        self.var = float("nan")

    def fit(self, reference: Any) -> Welch:
        ref = _clean(reference)
        self.n = int(ref.size)
        self.mean = float(ref.mean()) if ref.size else float("nan")
        self.var = float(ref.var(ddof=1)) if ref.size > 1 else float("nan")
        return self

    def score(self, current: Any) -> Score:
        cur = _clean(current)
        if cur.size < 2:
            return self._score(int(cur.size), float("nan"), float("nan"))
        return self._score(int(cur.size), float(cur.mean()), float(cur.var(ddof=1)))

    def chunk_state(self, chunk: Any) -> tuple[int, float, float]:
        """``(n, mean, sum of squared deviations from the mean)`` of the chunk's values."""
        cur = _clean(chunk)
        if cur.size == 0:
            return (0, 0.0, 0.0)
        mean = float(cur.mean())
        return (int(cur.size), mean, float(np.sum((cur - mean) ** 2)))

    def merge_states(self, a: tuple[int, float, float], b: tuple[int, float, float]) -> tuple[int, float, float]:
        """Chan, Golub and LeVeque's pairwise update of count, mean and squared deviations."""
        (na, ma, sa), (nb, mb, sb) = a, b
        if na == 0 or nb == 0:
            return b if na == 0 else a
        n = na + nb
        delta = mb - ma
        return (n, ma + delta * nb / n, sa + sb + delta * delta * na * nb / n)

    def score_state(self, state: tuple[int, float, float]) -> Score:
        n, mean, squares = state
        return self._score(n, mean, squares / (n - 1) if n > 1 else float("nan"))

    def _score(self, n2: int, m2: float, v2: float) -> Score:
        n1 = self.n
        if n1 < 2 or n2 < 2:
            return Score(statistic=float("nan"), p_value=float("nan"), details={"reason": "fewer than 2 values"})
        se1, se2 = self.var / n1, v2 / n2
        denom = np.sqrt(se1 + se2)
        if denom == 0:
            same = m2 == self.mean
            return Score(statistic=0.0 if same else float("inf"), p_value=1.0 if same else 0.0)
        t = (self.mean - m2) / denom
        df = (se1 + se2) ** 2 / (se1**2 / (n1 - 1) + se2**2 / (n2 - 1))
        # Two-sided p-value from the t distribution's survival function (as scipy does).
        p = float(special.stdtr(df, -abs(t)) * 2)
        return Score(statistic=float(t), p_value=min(p, 1.0), details={"mean_reference": self.mean, "mean_current": m2})

    def to_profile(self) -> dict[str, Any]:
        return {"n": self.n, "mean": self.mean, "var": self.var}

    @classmethod
    def from_profile(cls, profile: dict[str, Any]) -> Welch:
        detector = cls()
        detector.n, detector.mean, detector.var = int(profile["n"]), float(profile["mean"]), float(profile["var"])
        return detector
