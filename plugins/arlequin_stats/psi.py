"""Population Stability Index: ``sum (p_cur - p_ref) * ln(p_cur / p_ref)``.

This is ``KL(cur || ref) + KL(ref || cur)`` and is computed as such, like
``scipy.stats.entropy`` (in numpy: :func:`~arlequin_stats.binned.relative_entropy`), on
the smoothed histograms of :mod:`arlequin_stats.binned` (10 reference-quantile bins for
numeric columns, smoothing 0.5 per cell). The usual
reading: below 0.1 stable, 0.1 to 0.2 a moderate shift, 0.2 and above a significant
shift; the default threshold is 0.2.
"""

from __future__ import annotations

import numpy as np

from arlequin_core.drift.base import DetectorInfo
from arlequin_stats.binned import BinnedDivergence, relative_entropy


class PopulationStabilityIndex(BinnedDivergence):
    """PSI; drift at or above the threshold (default 0.2)."""

    info = DetectorInfo(
        name="psi",
        display_name="Population Stability Index",
        kinds=frozenset({"numeric", "categorical"}),
        score="distance",
        default_threshold=0.2,
        description="PSI on reference-quantile bins or categories, smoothed.",
    )

    def divergence(self, p_ref: np.ndarray, p_cur: np.ndarray) -> float:
        return relative_entropy(p_cur, p_ref) + relative_entropy(p_ref, p_cur)
