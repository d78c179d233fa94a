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

from collections.abc import Callable
from typing import Any

import numpy as np

from arlequin_core.drift.base import Detector, DetectorInfo, Score
from arlequin_core.drift.columns import sorted_values
from arlequin_core.drift.cuts import CutCounts
from arlequin_core.drift.encoding import decode_array, profile_array
from arlequin_stats.ks_pvalue import ks_2samp_pvalue

# Pivot spacing of the branch and bound, and how many reference values are refined at once.
_STRIDE = 64
_BLOCK = 1 << 14

# (positions in the reference values) -> (#batch <= u, #batch < u); (position, #batch < u) -> largest batch value < u.
_CountsAt = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
_ValueBelow = Callable[[int, int], float]


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
        ordered = sorted_values(reference, copy=False)  # only read
        if ordered.size == 0:
            raise ValueError("cannot fit ks: the reference column has no non-missing values")
        ends = np.flatnonzero(np.append(ordered[1:] != ordered[:-1], True))  # the last of each run of ties
        self.values = ordered[ends]
        ends += 1
        self.cumulative = ends.astype(np.int64, copy=False)
        return self

    def score(self, current: Any) -> Score:
        if self.values is None or self.cumulative is None:
            raise RuntimeError("ks: score() called before fit()")
        ordered = sorted_values(current, copy=False)  # only read
        n2 = int(ordered.size)
        if n2 == 0:
            raise ValueError("ks: the batch column has no non-missing values")
        u = self.values

        def counts_at(index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            at_most = np.searchsorted(ordered, u[index], side="right")
            return at_most, _count_less(ordered, u[index], at_most)

        return self._result(n2, counts_at, lambda _k, less: float(ordered[less - 1]))

    def cut_points(self) -> np.ndarray:
        """The distinct reference values, ascending: the cuts of :meth:`score_cut_counts`."""
        if self.values is None:
            raise RuntimeError("ks: cut_points() called before fit()")
        return self.values

    def score_cut_counts(self, cuts: CutCounts) -> Score:
        """The same :class:`Score` as :meth:`score`, from the batch's counts between :meth:`cut_points`.

        The ECDF of the batch at every reference value, and the largest batch value
        below it, are all ``score`` needs; :class:`CutCounts` gives both exactly.
        """
        if self.values is None or self.cumulative is None:
            raise RuntimeError("ks: score() called before fit()")
        if cuts.counts.shape != (self.values.size + 1,):
            raise ValueError(f"ks: expected counts over {self.values.size + 1} cells, got shape {cuts.counts.shape}")
        n2 = cuts.n
        if n2 == 0:
            raise ValueError("ks: the batch column has no non-missing values")
        at_most, less, below = cuts.at_most(), cuts.less(), cuts.largest_below()
        return self._result(n2, lambda index: (at_most[index], less[index]), lambda k, _less: float(below[k]))

    def _result(self, n2: int, counts_at: _CountsAt, value_below: _ValueBelow) -> Score:
        assert self.values is not None and self.cumulative is not None
        n1 = self.n
        d_max, loc_max, d_min, loc_min = _extremes(self.values, self.cumulative, n1, n2, counts_at, value_below)
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
        """``n``, the distinct ``values`` and their ``counts``, in the smallest unsigned dtype that holds them
        (a million distinct values: 1 byte each, read back as such, so loading converts nothing)."""
        if self.values is None or self.cumulative is None:
            raise RuntimeError("ks: to_profile() called before fit()")
        cumulative = self.cumulative
        # The differences written straight into the narrowest type that holds n (no prepended copy):
        # 4 MB instead of two 8 MB arrays for a million values, then narrowed to the largest count.
        wide = np.uint32 if self.n <= np.iinfo(np.uint32).max else np.uint64
        counts = np.empty(cumulative.size, dtype=wide)
        counts[:1] = cumulative[:1]
        np.subtract(cumulative[1:], cumulative[:-1], out=counts[1:], casting="unsafe")
        top = int(counts.max()) if counts.size else 0
        dtype = next(t for t in (np.uint8, np.uint16, np.uint32, np.uint64) if top <= np.iinfo(t).max)
        return {"n": self.n, "values": profile_array(self.values), "counts": profile_array(counts.astype(dtype))}

    @classmethod
    def from_profile(cls, profile: dict[str, Any]) -> KolmogorovSmirnov:
        """Rebuild from :meth:`to_profile` (counts of any integer dtype: older profiles declare int64).

        The checks and the cumulative counts take one pass each and no temporary of the
        values' size: a loaded profile is checked once per process by a one-off ``detect``.
        The cumulative counts are int32 below 2**31 values (int64 above).
        """
        detector = cls()
        values = decode_array(profile["values"]).astype(np.float64, copy=False)
        counts = decode_array(profile["counts"])
        if counts.dtype.kind not in "iu":
            raise ValueError(f"ks profile: 'counts' must be integers, got {counts.dtype}")
        if values.shape != counts.shape or values.ndim != 1 or values.size == 0:
            raise ValueError("ks profile: 'values' and 'counts' must be non-empty and of equal length")
        if not bool(np.all(values[1:] > values[:-1])) or int(counts.min()) < 1:
            raise ValueError("ks profile: values must be strictly increasing and counts positive")
        detector.values = values
        total = int(counts.sum(dtype=np.uint64))
        # int32 while it holds the total (half the memory of int64; every use divides it by n).
        detector.cumulative = np.cumsum(counts, dtype=np.int32 if total < 2**31 else np.int64)
        if int(profile.get("n", detector.n)) != detector.n:
            raise ValueError("ks profile: 'n' does not match the sum of 'counts'")
        return detector


def _extremes(
    u: np.ndarray, cumulative: np.ndarray, n1: int, n2: int, counts_at: _CountsAt, value_below: _ValueBelow
) -> tuple[float, float, float, float]:
    """``max(F1 - F2, 0)`` and ``max(F2 - F1, 0)`` over the data, with where they occur.

    ``counts_at(index)`` gives ``#(batch <= u[index])`` and ``#(batch < u[index])``;
    ``value_below(k, less)`` the largest batch value below ``u[k]`` (``less`` of them are).

    Branch and bound, exact: ``F1 - F2`` is evaluated at every ``_STRIDE``-th reference
    value; between two such pivots the reference and batch counts are bounded by
    their values at the pivots, which bounds ``F1 - F2`` in the block. Only blocks whose
    bound beats the best value found so far are evaluated in full. Division and
    subtraction are monotone in floating point too, so a float bound is never below a
    float candidate and the result is the very float scipy computes.
    """
    size = u.size
    pivots = np.arange(0, size, _STRIDE)
    if pivots[-1] != size - 1:
        pivots = np.append(pivots, size - 1)
    at_most, less = counts_at(pivots)
    below = np.where(pivots > 0, cumulative[pivots - 1], 0)
    best = _Best()
    best.update(pivots, u, cumulative[pivots], below, at_most, less, n1, n2, value_below)
    if pivots.size > 1:
        # Within block i (pivots[i] < k < pivots[i+1]) every count lies between its pivot values.
        high_at = cumulative[pivots[1:]] / n1 - at_most[:-1] / n2
        low_at = cumulative[pivots[:-1]] / n1 - at_most[1:] / n2
        low_before = below[:-1] / n1 - less[1:] / n2
        open_blocks = np.flatnonzero((high_at > best.d_max) | (-low_at > best.d_min) | (-low_before > best.d_min))
        open_blocks = open_blocks[pivots[open_blocks + 1] - pivots[open_blocks] > 1]
        for chunk in np.array_split(open_blocks, max(1, open_blocks.size * _STRIDE // _BLOCK)):
            if chunk.size == 0:
                continue
            index = _block_interiors(pivots, chunk)
            counts, less_at = counts_at(index)
            best.update(index, u, cumulative[index], cumulative[index - 1], counts, less_at, n1, n2, value_below)
    return best.d_max, best.loc_max, best.d_min, best.loc_min


def _block_interiors(pivots: np.ndarray, blocks: np.ndarray) -> np.ndarray:
    """The indices strictly between ``pivots[i]`` and ``pivots[i + 1]`` for every ``i`` in ``blocks``, in order."""
    starts = pivots[blocks] + 1
    lengths = pivots[blocks + 1] - starts
    offsets = np.cumsum(lengths) - lengths
    return np.arange(int(lengths.sum())) + np.repeat(starts - offsets, lengths)


class _Best:
    """The largest ``F1 - F2`` and ``F2 - F1`` seen so far (both start at 0, like scipy's)."""

    def __init__(self) -> None:
        self.d_max, self.loc_max, self.d_min, self.loc_min = 0.0, float("nan"), 0.0, float("nan")

    def update(
        self,
        index: np.ndarray,
        u: np.ndarray,
        ref_at: np.ndarray,
        ref_below: np.ndarray,
        cur_at_most: np.ndarray,
        cur_less: np.ndarray,
        n1: int,
        n2: int,
        value_below: _ValueBelow,
    ) -> None:
        # F1 - F2 at each reference value, and just below it (at the last batch value < u).
        at_u = ref_at / n1 - cur_at_most / n2
        before_u = ref_below / n1 - cur_less / n2
        k = int(np.argmax(at_u))
        if at_u[k] > self.d_max:
            self.d_max, self.loc_max = float(at_u[k]), float(u[index[k]])
        k = int(np.argmin(at_u))
        if -at_u[k] > self.d_min:
            self.d_min, self.loc_min = float(-at_u[k]), float(u[index[k]])
        k = int(np.argmin(before_u))
        if -before_u[k] > self.d_min:
            self.d_min = float(-before_u[k])
            self.loc_min = value_below(int(index[k]), int(cur_less[k])) if cur_less[k] else float(u[index[k]])


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
