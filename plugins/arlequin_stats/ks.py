"""Two-sample Kolmogorov–Smirnov test for numeric columns.

``fit`` keeps the distinct reference values, sorted, with their cumulative counts;
``score`` sorts only the batch and evaluates both empirical CDFs at the reference
values. The statistic equals ``scipy.stats.ks_2samp(reference, current).statistic``
bit for bit and the p-value follows scipy's ``method="auto"`` (see
:mod:`arlequin_stats.ks_pvalue`).

Why evaluating at the reference values is enough: both ECDFs are right-continuous
steps, so ``sup |F1 - F2|`` is reached at a data point. Between two consecutive
reference values ``u[k-1] <= x < u[k]`` the reference ECDF is constant and the batch
ECDF only grows, so ``F1 - F2`` is largest at ``u[k-1]`` itself and smallest at the
last batch value below ``u[k]``, where ``F2 = #(batch < u[k]) / n2``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from arlequin_core.drift.base import Detector, DetectorInfo, Score
from arlequin_core.drift.columns import sorted_values
from arlequin_core.drift.encoding import decode_array, encode_array
from arlequin_stats.ks_pvalue import ks_2samp_pvalue

# Reference values are processed in blocks so the index arrays stay small (memory).
_BLOCK = 1 << 16


class KolmogorovSmirnov(Detector):
    """Two-sample KS test; drift when the p-value is below the threshold (default 0.05).

    Assumes continuous data for the exact null distribution; with ties (integers,
    rounded values) the test is conservative, as in scipy. With very large samples
    tiny, harmless shifts become significant: consider ``wasserstein`` or ``psi``
    with a distance threshold there.
    """

    info = DetectorInfo(
        name="ks",
        display_name="Kolmogorov–Smirnov",
        kinds=frozenset({"numeric"}),
        score="p_value",
        default_threshold=0.05,
        description="Two-sample KS test (scipy.stats.ks_2samp, method='auto').",
    )

    def __init__(self) -> None:
        self.values: np.ndarray | None = None  # distinct reference values, ascending
        self.cumulative: np.ndarray | None = None  # number of reference values <= values[k]

    @property
    def n(self) -> int:
        """Number of non-missing reference values."""
        return int(self.cumulative[-1]) if self.cumulative is not None and self.cumulative.size else 0

    def fit(self, reference: Any) -> KolmogorovSmirnov:
        ordered = sorted_values(reference)
        if ordered.size == 0:
            raise ValueError("cannot fit ks: the reference column has no non-missing values")
        last_of_run = np.flatnonzero(np.diff(ordered))
        ends = np.append(last_of_run, ordered.size - 1)
        self.values = ordered[ends]
        self.cumulative = (ends + 1).astype(np.int64)
        return self

    def score(self, current: Any) -> Score:
        if self.values is None or self.cumulative is None:
            raise RuntimeError("ks: score() called before fit()")
        ordered = sorted_values(current)
        n1, n2 = self.n, int(ordered.size)
        if n2 == 0:
            raise ValueError("ks: the batch column has no non-missing values")
        d_max, d_min, loc_max, loc_min = 0.0, 0.0, np.nan, np.nan
        previous = 0  # reference count below the current block
        for start in range(0, self.values.size, _BLOCK):
            u = self.values[start : start + _BLOCK]
            cum = self.cumulative[start : start + _BLOCK]
            below = np.concatenate(([previous], cum[:-1]))
            previous = int(cum[-1])
            at_most = np.searchsorted(ordered, u, side="right")
            less = _count_less(ordered, u, at_most)
            # F1 - F2 at each reference value, and just below it (last batch value < u).
            at_u = cum / n1 - at_most / n2
            before_u = below / n1 - less / n2
            k = int(np.argmax(at_u))
            if at_u[k] > d_max:
                d_max, loc_max = float(at_u[k]), float(u[k])
            k = int(np.argmin(before_u))
            if -before_u[k] > d_min:
                d_min, loc_min = float(-before_u[k]), float(ordered[less[k] - 1]) if less[k] else float(u[k])
            k = int(np.argmin(at_u))
            if -at_u[k] > d_min:
                d_min, loc_min = float(-at_u[k]), float(u[k])
        # scipy's tie rule: the larger side wins, "greater" on equality.
        if d_min > d_max:
            d, location, sign = d_min, loc_min, -1
        else:
            d, location, sign = d_max, loc_max, 1
        statistic, p_value, method = ks_2samp_pvalue(d, n1, n2)
        return Score(
            statistic=statistic,
            p_value=p_value,
            details={"method": method, "location": location, "sign": sign, "n_ref": n1, "n_cur": n2},
        )

    def to_profile(self) -> dict[str, Any]:
        if self.values is None or self.cumulative is None:
            raise RuntimeError("ks: to_profile() called before fit()")
        counts = np.diff(self.cumulative, prepend=0)
        return {"n": self.n, "values": encode_array(self.values), "counts": encode_array(counts)}

    @classmethod
    def from_profile(cls, profile: dict[str, Any]) -> KolmogorovSmirnov:
        detector = cls()
        values = decode_array(profile["values"]).astype(np.float64, copy=False)
        counts = decode_array(profile["counts"]).astype(np.int64, copy=False)
        if values.shape != counts.shape or values.size == 0:
            raise ValueError("ks profile: 'values' and 'counts' must be non-empty and of equal length")
        if np.any(np.diff(values) <= 0) or np.any(counts < 1):
            raise ValueError("ks profile: values must be strictly increasing and counts positive")
        detector.values = values
        detector.cumulative = np.cumsum(counts)
        if int(profile.get("n", detector.n)) != detector.n:
            raise ValueError("ks profile: 'n' does not match the sum of 'counts'")
        return detector


def _count_less(ordered: np.ndarray, u: np.ndarray, at_most: np.ndarray) -> np.ndarray:
    """``#(ordered < u[k])`` from ``#(ordered <= u[k])``: differs only where ``u[k]`` occurs in ``ordered``.

    Searching again only for those (rare with continuous data) halves the work.
    """
    less = at_most.copy()
    nonzero = at_most > 0
    tied = np.zeros(u.size, dtype=bool)
    tied[nonzero] = ordered[at_most[nonzero] - 1] == u[nonzero]
    if tied.any():
        less[tied] = np.searchsorted(ordered, u[tied], side="left")
    return less
