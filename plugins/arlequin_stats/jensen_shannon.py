"""Jensen–Shannon distance between the reference and batch histograms.

``sqrt((KL(p || m) + KL(q || m)) / 2)`` with ``m = (p + q) / 2`` and logarithms in
base 2, so it lies in [0, 1]; equal to ``scipy.spatial.distance.jensenshannon(p, q,
base=2)`` and computed like ``scipy.stats.entropy``, in numpy
(:func:`~arlequin_stats.binned.relative_entropy`). Symmetric and finite even with
empty cells, so no smoothing by default (``smoothing = 0``). Histograms as in
:mod:`arlequin_stats.binned`.
"""

from __future__ import annotations

import numpy as np

from arlequin_core.drift.base import DetectorInfo
from arlequin_stats.binned import BinnedDivergence, relative_entropy


class JensenShannon(BinnedDivergence):
    """Jensen–Shannon distance (base 2); drift at or above the threshold (default 0.1)."""

    info = DetectorInfo(
        name="jensen_shannon",
        display_name="Jensen–Shannon distance",
        kinds=frozenset({"numeric", "categorical"}),
        score="distance",
        default_threshold=0.1,
        description="Jensen–Shannon distance, base 2, in [0, 1], on reference-quantile bins or categories.",
    )

    default_smoothing = 0.0

    def divergence(self, p_ref: np.ndarray, p_cur: np.ndarray) -> float:
        mixture = (p_ref + p_cur) / 2.0
        js = (relative_entropy(p_ref, mixture, base=2) + relative_entropy(p_cur, mixture, base=2)) / 2.0
        # Rounding can leave a tiny negative value for identical histograms.
        return float(np.sqrt(max(js, 0.0)))
