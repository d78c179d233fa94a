"""Kullback–Leibler divergence of the batch from the reference, ``KL(current || reference)``.

``sum p_cur * ln(p_cur / p_ref)`` in nats, equal to ``scipy.stats.entropy(p_cur, p_ref)``
(computed in numpy: :func:`~arlequin_stats.binned.relative_entropy`) on the smoothed
histograms of :mod:`arlequin_stats.binned` (numeric columns cut at 10 reference
quantiles; smoothing 0.5 per cell). The direction asks "how surprising
is the batch for someone who expects the reference": mass where the reference had
little (new categories, values beyond its range) weighs most. Not symmetric; use
``psi`` (the symmetrised sum) or ``jensen_shannon`` (bounded) if that matters.
"""

from __future__ import annotations

import numpy as np

from arlequin_core.drift.base import DetectorInfo
from arlequin_stats.binned import BinnedDivergence, relative_entropy


class KullbackLeibler(BinnedDivergence):
    """KL(current || reference) in nats; drift at or above the threshold (default 0.1)."""

    info = DetectorInfo(
        name="kl",
        display_name="Kullback–Leibler divergence",
        kinds=frozenset({"numeric", "categorical"}),
        score="distance",
        default_threshold=0.1,
        description="KL(current || reference) in nats on reference-quantile bins or categories, smoothed.",
    )

    def divergence(self, p_ref: np.ndarray, p_cur: np.ndarray) -> float:
        return relative_entropy(p_cur, p_ref)
