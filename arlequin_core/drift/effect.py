"""Effect sizes: how far a batch moved from the reference, on scales that do not shrink with n.

A p-value answers "is there any difference at all?"; with a million rows the answer
is nearly always yes. An effect size answers "how large is it?" and stays the same
whatever the sample sizes. Every column result carries the effects of its kind,
whatever detector decided (see :mod:`arlequin_core.drift.policy` for how the verdict
uses them).

Every function here is **pure**: (fitted reference summary, batch counts at the
reference's cut points or categories) -> effects. The reference summary is fitted
once (:meth:`NumericReference.fit`, :meth:`CategoricalReference.fit`) and saved in
the profile; the batch side is a small state (:class:`NumericBatch`, or a dict of
category counts) that any engine builds per chunk and merges by adding (``merge``),
so an in-memory check, a streaming check and a Spark check report the same effects.

Numeric columns (:func:`numeric_effects`), over cells cut at ``K <= 1001`` reference
quantiles ``u`` (``inverted_cdf`` quantiles at probabilities ``0, 0.001, ..., 1``,
deduplicated: all of them reference values, ``u[0]`` its minimum and ``u[-1]`` its
maximum; a reference with at most 1001 distinct values has each of them as a cut).
A value ``x`` falls in cell ``searchsorted(u, x, side="right")``: cell 0 is
``x < u[0]``, cell ``j`` is ``u[j-1] <= x < u[j]``, cell ``K`` is ``x >= u[K-1]``, as
in :mod:`arlequin_core.drift.cuts`. Per cell a state holds the count, how many of
those equal the cell's lower cut, and the sum of ``x - lower``, ``lower`` being the
cell's lower cut (``u[0]`` for cell 0).

* ``ks_d``: the Kolmogorov–Smirnov distance ``sup |F_ref - F_cur|`` (0 to 1), evaluated
  at the cuts: a lower bound of the exact one, within ``ks_d_bound`` of it (exact,
  bound 0, when both samples take only values at the cuts, e.g. integer columns). When
  the column's detector is ``ks`` the core reports the detector's exact statistic.
* ``wasserstein``: the Wasserstein-1 distance divided by the reference's standard
  deviation (``ddof=0``), as the ``wasserstein`` detector: 0.1 means the batch moved,
  on average, a tenth of a standard deviation. From counts and sums per cell the
  integral of ``F_ref - F_cur`` over each cell is exact; the sum of their absolute
  values is a lower bound of W1, exact in every cell where the two CDFs do not cross
  (always so in the tails beyond the reference's range, where outliers matter most),
  and ``wasserstein_bound`` bounds what crossings can add. A constant reference gives
  0 for the same constant and infinity otherwise.

Categorical columns (:func:`categorical_effects`), on the proportions of the
reference's categories; categories the reference never had form one more cell (for
the three effects below, pooling them changes nothing, so an engine may keep just
their total):

* ``tv``: total variation ``1/2 sum |p - q|`` (0 to 1): the share of rows that would
  have to change category to turn one distribution into the other. For a column with
  two categories it equals ``ks_d``, so a binary column has the same effect whichever
  kind it is given.
* ``jensen_shannon``: the Jensen–Shannon *distance* with base-2 logarithms (0 to 1),
  as ``scipy.spatial.distance.jensenshannon(p, q, base=2)``.
* ``cramers_v``: Cramér's V of the 2 x K table (reference, batch) without continuity
  correction, as ``scipy.stats.contingency.association(table, method="cramer")``. Unlike
  the two above it also depends on how the rows split between reference and batch (it is
  largest for equal sizes), so it is reported, not used by the policy.

The *primary* effect of a kind (:data:`PRIMARY`) is what ``[drift] min_effect`` is
compared with: ``ks_d`` for numeric columns and ``tv`` for categorical ones, both the
largest difference in probability the two samples give to one event (a half-line for
KS, any set of categories for TV), so one floor means the same on both kinds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from arlequin_core.drift.encoding import decode_array, profile_array

#: Reference quantile cells of the numeric effects (cut at ``QUANTILE_CELLS + 1`` quantiles).
QUANTILE_CELLS = 1000
#: Categorical reference summaries list at most this many categories (the rest are pooled).
MAX_CATEGORIES = 10_000
#: The effect the policy's ``min_effect`` applies to, per column kind.
PRIMARY = {"numeric": "ks_d", "categorical": "tv"}


@dataclass(frozen=True)
class NumericReference:
    """The reference side of the numeric effects.

    :param cuts: ``K`` strictly increasing reference values (see the module docstring).
    :param counts: reference values per cell, shape ``(K + 1,)`` (cell 0 is always empty).
    :param at_lower: reference values per cell equal to its lower cut, shape ``(K + 1,)``.
    :param offsets: per cell, the sum of ``x - lower`` over its reference values, shape ``(K + 1,)``.
    :param std: the reference standard deviation (``ddof=0``).
    """

    cuts: np.ndarray
    counts: np.ndarray
    at_lower: np.ndarray
    offsets: np.ndarray
    std: float

    @property
    def n(self) -> int:
        """Reference values summarised."""
        return int(self.counts.sum())

    @classmethod
    def fit(cls, values: np.ndarray, cells: int = QUANTILE_CELLS, *, presorted: bool = False) -> NumericReference:
        """Summarise the non-NaN values of a numeric reference (1-D float64; infinities are left out).

        :param presorted: ``values`` are sorted ascending without NaN (no sort then; the same result).
        :raises ValueError: no finite value.
        """
        values = np.asarray(values, dtype=np.float64)
        if presorted:
            ordered = values[np.searchsorted(values, -np.inf, side="right") : np.searchsorted(values, np.inf)]
        else:
            ordered = np.sort(values[np.isfinite(values)])
        if ordered.size == 0:
            raise ValueError("effect: the reference column has no finite value")
        positions = np.ceil(np.linspace(0.0, 1.0, cells + 1) * ordered.size).astype(np.int64) - 1
        cuts = np.unique(ordered[np.clip(positions, 0, ordered.size - 1)])
        state = NumericBatch.from_sorted(ordered, cuts)
        return cls(cuts, state.counts, state.at_lower, state.offsets, std=float(np.std(ordered)))

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (see :mod:`arlequin_core.drift.encoding`)."""
        return {
            "cuts": profile_array(self.cuts),
            "counts": profile_array(self.counts),
            "at_lower": profile_array(self.at_lower),
            "offsets": profile_array(self.offsets),
            "std": self.std,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NumericReference:
        """Rebuild from :meth:`to_dict`.

        :raises ValueError: inconsistent shapes or cuts not strictly increasing.
        """
        cuts = decode_array(data["cuts"]).astype(np.float64, copy=False)
        counts = decode_array(data["counts"]).astype(np.int64, copy=False)
        at_lower = decode_array(data["at_lower"]).astype(np.int64, copy=False)
        offsets = decode_array(data["offsets"]).astype(np.float64, copy=False)
        if cuts.size == 0 or counts.shape != (cuts.size + 1,) or offsets.shape != counts.shape != at_lower.shape:
            raise ValueError("effect summary: 'counts', 'at_lower' and 'offsets' need len(cuts) + 1 entries")
        if np.any(np.diff(cuts) <= 0):
            raise ValueError("effect summary: 'cuts' must be strictly increasing")
        return cls(cuts, counts, at_lower, offsets, std=float(data["std"]))


@dataclass(frozen=True)
class NumericBatch:
    """The batch side of the numeric effects: a mergeable state over a reference's cells.

    :param counts: values per cell, shape ``(K + 1,)``, int64.
    :param at_lower: values per cell equal to its lower cut (0 in cell 0), int64.
    :param offsets: per cell, the sum of ``x - lower`` over its values (float64).
    """

    counts: np.ndarray
    at_lower: np.ndarray
    offsets: np.ndarray

    @property
    def n(self) -> int:
        """Values counted."""
        return int(self.counts.sum())

    @classmethod
    def from_values(cls, values: np.ndarray, cuts: np.ndarray) -> NumericBatch:
        """The state of the finite ``values`` (any order, NaN and infinities left out) over ``cuts``."""
        values = np.asarray(values, dtype=np.float64)
        finite = values[np.isfinite(values)]
        cells = np.searchsorted(cuts, finite, side="right")
        lower = np.concatenate(([cuts[0]], cuts))
        size = cuts.size + 1
        counts = np.bincount(cells, minlength=size).astype(np.int64)
        offset = finite - lower[cells]
        offsets = np.bincount(cells, weights=offset, minlength=size)
        at_lower = np.bincount(cells[(offset == 0) & (cells > 0)], minlength=size).astype(np.int64)
        return cls(counts=counts, at_lower=at_lower, offsets=offsets)

    @classmethod
    def from_sorted(cls, ordered: np.ndarray, cuts: np.ndarray) -> NumericBatch:
        """The same state from values sorted ascending without NaN (what ``ks`` sorts anyway): no pass per row.

        Infinite values are left out, as in :meth:`from_values`.
        """
        ordered = np.asarray(ordered, dtype=np.float64)
        lo = int(np.searchsorted(ordered, -np.inf, side="right"))
        hi = int(np.searchsorted(ordered, np.inf, side="left"))
        ordered = ordered[lo:hi]
        bounds = np.concatenate(([0], np.searchsorted(ordered, cuts, side="left"), [ordered.size]))
        counts = np.diff(bounds).astype(np.int64)
        at_lower = np.zeros(cuts.size + 1, dtype=np.int64)
        at_lower[1:] = np.searchsorted(ordered, cuts, side="right") - bounds[1:-1]
        lower = np.concatenate(([cuts[0]], cuts))
        sums = np.zeros(cuts.size + 1)
        filled = np.flatnonzero(counts)
        if filled.size:
            # One pass, no copy. The cancellation in sum - count * lower costs about
            # count * |lower| * 1e-16 per cell: microseconds on timestamps in microseconds.
            sums[filled] = np.add.reduceat(ordered, bounds[filled]) - counts[filled] * lower[filled]
        return cls(counts=counts, at_lower=at_lower, offsets=sums)

    def merge(self, other: NumericBatch) -> NumericBatch:
        """The state of both chunks together."""
        return NumericBatch(self.counts + other.counts, self.at_lower + other.at_lower, self.offsets + other.offsets)


def numeric_effects(reference: NumericReference, batch: NumericBatch) -> dict[str, float]:
    """``ks_d``, ``ks_d_bound``, ``wasserstein`` and ``wasserstein_bound`` (see the module docstring).

    :raises ValueError: the batch state does not match the reference's cells, or is empty.
    """
    size = reference.cuts.size + 1
    if batch.counts.shape != (size,) or batch.offsets.shape != (size,):
        raise ValueError(f"effect: expected a batch state over {size} cells, got {batch.counts.shape}")
    n1, n2 = reference.n, batch.n
    if n2 == 0:
        raise ValueError("effect: the batch has no finite value")
    c1, c2 = reference.counts.astype(np.float64), batch.counts.astype(np.float64)
    cum1, cum2 = np.cumsum(c1) / n1, np.cumsum(c2) / n2  # F(u[j]-) for j < K; 1 at K
    # The range of each CDF over each cell: [lo, hi], lo = F(lower cut) (values at the
    # cut included), hi = F just below the next cut.
    hi1, hi2 = cum1, cum2
    lo1 = np.concatenate(([0.0], cum1[:-1])) + reference.at_lower / n1
    lo2 = np.concatenate(([0.0], cum2[:-1])) + batch.at_lower / n2
    sup = np.maximum(hi1 - lo2, hi2 - lo1)  # bounds |F1 - F2| within each cell
    # Exactly known: F just below each cut and F at each cut.
    ks_lower = float(max(np.max(np.abs(cum1[:-1] - cum2[:-1])), np.max(np.abs(lo1[1:] - lo2[1:]))))
    ks_upper = max(ks_lower, float(np.max(sup)))
    # Integral of F over each cell: cells 1..K-1 have width w; cell 0 is (-inf, u0), cell K [u_{K-1}, inf).
    widths = np.concatenate(([0.0], np.diff(reference.cuts), [0.0]))
    integral1 = cum1 * widths - reference.offsets / n1
    integral2 = cum2 * widths - batch.offsets / n2
    # Cell K: the integral of (1 - F) is the sum of offsets / n, so F1 - F2 integrates to o2/n2 - o1/n1.
    area = integral1 - integral2
    area[-1] = batch.offsets[-1] / n2 - reference.offsets[-1] / n1
    exact = (hi1 <= lo2) | (hi2 <= lo1)  # no crossing inside the cell
    lower = float(np.sum(np.abs(area)))
    upper = float(np.sum(np.where(exact, np.abs(area), np.maximum(np.abs(area), widths * sup))))
    spread = reference.std
    if spread > 0:
        wasserstein, bound = lower / spread, (upper - lower) / spread
    else:
        wasserstein, bound = (0.0 if lower == 0 else math.inf), 0.0
    return {
        "ks_d": ks_lower,
        "ks_d_bound": ks_upper - ks_lower,
        "wasserstein": wasserstein,
        "wasserstein_bound": bound,
    }


@dataclass(frozen=True)
class CategoricalReference:
    """The reference side of the categorical effects.

    :param counts: reference count per category key (the ``MAX_CATEGORIES`` most frequent).
    :param other: reference rows in categories not listed (0 unless there were more).
    """

    counts: dict[str, int]
    other: int = 0

    @classmethod
    def fit(cls, counts: Mapping[str, int], limit: int = MAX_CATEGORIES) -> CategoricalReference:
        """From the reference's ``{category key: count}`` (missing values left out)."""
        ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        return cls(counts=dict(ordered[:limit]), other=int(sum(c for _, c in ordered[limit:])))

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {"counts": dict(self.counts), "other": self.other}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CategoricalReference:
        """Rebuild from :meth:`to_dict`."""
        return cls(counts={str(k): int(v) for k, v in data["counts"].items()}, other=int(data.get("other", 0)))


@dataclass(frozen=True)
class CategoricalBatch:
    """The batch side of the categorical effects: a mergeable state over a reference's listed categories.

    :param counts: batch rows per listed reference category, in :attr:`CategoricalReference.counts` order.
    :param other: batch rows in any other category (unseen, or beyond the listed ones).
    """

    counts: np.ndarray
    other: int = 0

    @classmethod
    def from_counts(cls, reference: CategoricalReference, counts: Mapping[str, int]) -> CategoricalBatch:
        """From the batch's ``{category key: count}`` (missing values left out)."""
        listed = np.array([int(counts.get(k, 0)) for k in reference.counts], dtype=np.int64)
        return cls(counts=listed, other=int(sum(counts.values())) - int(listed.sum()))

    @property
    def n(self) -> int:
        """Values counted."""
        return int(self.counts.sum()) + self.other

    def merge(self, other: CategoricalBatch) -> CategoricalBatch:
        """The state of both chunks together."""
        return CategoricalBatch(self.counts + other.counts, self.other + other.other)


def categorical_effects(
    reference: CategoricalReference, counts: Mapping[str, int] | CategoricalBatch, unseen_rows: int = 0
) -> dict[str, float]:
    """``tv``, ``jensen_shannon`` and ``cramers_v`` of a batch (see the module docstring).

    :param counts: the batch's ``{category key: count}`` (missing values left out; keys
        the reference does not list are pooled into one cell), or its :class:`CategoricalBatch`.
    :param unseen_rows: further batch rows in categories the reference does not list,
        for an engine that keeps only their total.
    :raises ValueError: the batch has no value.
    """
    if not isinstance(counts, CategoricalBatch):
        counts = CategoricalBatch.from_counts(reference, counts)
    ref = np.array([*reference.counts.values(), reference.other], dtype=np.float64)
    cur = np.append(counts.counts, counts.other + int(unseen_rows)).astype(np.float64)
    if cur.sum() <= 0:
        raise ValueError("effect: the batch has no value")
    keep = (ref > 0) | (cur > 0)
    ref, cur = ref[keep], cur[keep]
    n1, n2 = ref.sum(), cur.sum()
    p, q = ref / n1, cur / n2
    tv = 0.5 * float(np.sum(np.abs(p - q)))
    m = 0.5 * (p + q)
    js = 0.5 * float(np.sum(_xlog2(p, m)) + np.sum(_xlog2(q, m)))
    return {
        "tv": min(1.0, tv),
        "jensen_shannon": math.sqrt(max(0.0, js)),
        "cramers_v": _cramers_v(ref, cur),
    }


def _xlog2(p: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``p log2(p / m)`` with ``0 log 0 = 0``."""
    out = np.zeros_like(p)
    nz = p > 0
    out[nz] = p[nz] * np.log2(p[nz] / m[nz])
    return out


def _cramers_v(ref: np.ndarray, cur: np.ndarray) -> float:
    """Cramér's V of the 2 x K table without continuity correction (0 with a single category)."""
    if ref.size < 2:
        return 0.0
    table = np.vstack([ref, cur])
    total = table.sum()
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / total
    chi2 = float(np.sum((table - expected) ** 2 / expected))
    return math.sqrt(min(1.0, chi2 / total))
