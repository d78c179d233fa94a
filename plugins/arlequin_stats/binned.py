"""Shared machinery of the divergence detectors (kl, psi, jensen_shannon).

Both column kinds become two histograms over the same cells:

* **categorical**: one cell per reference category, plus one per category seen only
  in the batch (its reference count is 0);
* **numeric**: cells cut at the reference quantiles. With ``q`` the ``bins + 1``
  quantiles (numpy's default ``linear`` method) of the finite reference values, the
  edges are ``unique(q[:-1]) + [nextafter(max)]`` and a value ``x`` falls in cell
  ``searchsorted(edges, x, side="right")``. So the cells are ``(-inf, min)``,
  ``[min, q1)``, ..., ``[q_last, max]``, ``(max, inf)``: batch values outside the
  reference range land in the two outer cells (empty in the reference), repeated
  values (integers, a constant column) get a cell of their own, and there are at
  most ``bins + 2`` cells.

Proportions are smoothed additively: ``p = (count + smoothing) / (n + smoothing * cells)``,
so an empty cell does not make a divergence infinite. ``smoothing = 0.5`` (the
Jeffreys / Krichevsky–Trofimov prior) is the default where zeros would be infinite
(KL, PSI); Jensen–Shannon is finite without it and uses 0. With a large reference
the smoothing is negligible; with a small batch it pulls both histograms slightly
towards uniform.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from typing import Any

import numpy as np

from arlequin_core.drift.base import Detector, Score
from arlequin_core.drift.columns import category_counts, is_categorical_input, numeric_values
from arlequin_core.drift.cuts import CutCounts
from arlequin_core.drift.encoding import decode_array, profile_array
from arlequin_stats.chi2 import contingency, unseen_details


def quantile_edges(values: np.ndarray, bins: int) -> np.ndarray:
    """Cell edges for a numeric reference (see the module docstring)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.array([0.0])
    quantiles = np.quantile(finite, np.linspace(0.0, 1.0, bins + 1))
    return np.unique(np.append(quantiles[:-1], np.nextafter(finite.max(), np.inf)))


def cell_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """How many ``values`` fall in each of the ``len(edges) + 1`` cells."""
    return np.bincount(np.searchsorted(edges, values, side="right"), minlength=edges.size + 1).astype(np.int64)


def relative_entropy(p: np.ndarray, q: np.ndarray, base: float | None = None) -> float:
    """``sum p log(p / q)`` of ``p`` and ``q`` each normalised to sum 1: ``scipy.stats.entropy(p, q, base=base)``.

    Terms where ``p`` is 0 are 0; a term where ``p > 0`` and ``q`` is 0 is infinite.
    The same arithmetic as scipy's (``rel_entr`` term by term, then ``np.sum``), in
    numpy: the divergence detectors do not import ``scipy.stats`` (seconds at start-up).

    :param base: the logarithm's base (default e: nats).
    """
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    p = p / np.sum(p)
    q = q / np.sum(q)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p / q), 0.0)
    total = float(np.sum(terms))
    return total / math.log(base) if base is not None else total


def smoothed(counts: np.ndarray, smoothing: float) -> np.ndarray:
    """Additively smoothed proportions of ``counts``."""
    counts = np.asarray(counts, dtype=np.float64)
    return (counts + smoothing) / (counts.sum() + smoothing * counts.size)


class BinnedDivergence(Detector):
    """A divergence between reference and batch histograms (subclasses define :meth:`divergence`).

    :param bins: number of reference-quantile cells for numeric columns (>= 1).
    :param smoothing: pseudo-count added to every cell (>= 0).
    """

    default_smoothing = 0.5

    def __init__(self, bins: int = 10, smoothing: float | None = None) -> None:
        if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
            raise ValueError(f"{self.info.name}: bins must be an integer >= 1, got {bins!r}")
        smoothing = self.default_smoothing if smoothing is None else smoothing
        if not isinstance(smoothing, (int, float)) or not np.isfinite(smoothing) or smoothing < 0:
            raise ValueError(f"{self.info.name}: smoothing must be a number >= 0, got {smoothing!r}")
        self.bins = bins
        self.smoothing = float(smoothing)
        self.kind: str | None = None
        self.edges: np.ndarray | None = None  # numeric
        self.reference_counts: np.ndarray | None = None  # numeric, per cell
        self.categories: dict[str, int] = {}  # categorical

    @abstractmethod
    def divergence(self, p_ref: np.ndarray, p_cur: np.ndarray) -> float:
        """The divergence between two proportion vectors over the same cells."""

    def fit(self, reference: Any) -> BinnedDivergence:
        if is_categorical_input(reference):
            counts = category_counts(reference)
            if not counts:
                raise ValueError(f"cannot fit {self.info.name}: the reference column has no non-missing values")
            self.kind = "categorical"
            self.categories = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
            return self
        values = numeric_values(reference)
        if values.size == 0:
            raise ValueError(f"cannot fit {self.info.name}: the reference column has no non-missing values")
        self.kind = "numeric"
        self.edges = quantile_edges(values, self.bins)
        self.reference_counts = cell_counts(values, self.edges)
        return self

    def histograms(self, current: Any) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """Reference and batch counts over the same cells, and details about the cells."""
        if self.kind is None:
            raise RuntimeError(f"{self.info.name}: score() called before fit()")
        if self.kind == "categorical":
            if not is_categorical_input(current):
                raise ValueError(f"{self.info.name}: fitted on a categorical column, scored with numeric data")
            return self._category_histograms(category_counts(current))
        if is_categorical_input(current):
            raise ValueError(f"{self.info.name}: fitted on a numeric column, scored with categorical data")
        assert self.edges is not None
        return self._cell_histograms(cell_counts(numeric_values(current), self.edges))

    def _category_histograms(self, observed: dict[str, int]) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        if not observed:
            raise ValueError(f"{self.info.name}: the batch column has no non-missing values")
        table, unseen = contingency(self.categories, observed)
        return table[0], table[1], unseen_details(unseen)

    def _cell_histograms(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        assert self.reference_counts is not None
        if counts.sum() == 0:
            raise ValueError(f"{self.info.name}: the batch column has no non-missing values")
        details = {"below_range": int(counts[0]), "above_range": int(counts[-1])}
        return self.reference_counts, counts, details

    def cut_points(self) -> np.ndarray:
        """The cell edges of a numeric column: the cuts of :meth:`score_cut_counts`."""
        if self.kind != "numeric" or self.edges is None:
            raise RuntimeError(f"{self.info.name}: cut_points() needs a detector fitted on a numeric column")
        return self.edges

    def score_cut_counts(self, cuts: CutCounts) -> Score:
        """The same :class:`Score` as :meth:`score` of a numeric column, from the batch's counts per cell."""
        edges = self.cut_points()
        if cuts.counts.shape != (edges.size + 1,):
            raise ValueError(f"{self.info.name}: expected counts over {edges.size + 1} cells, got {cuts.counts.shape}")
        return self._score(*self._cell_histograms(np.asarray(cuts.counts, dtype=np.int64)))

    def category_keys(self) -> list[str]:
        """The reference categories, in the order of chunk states' counts."""
        if self.kind != "categorical":
            raise RuntimeError(f"{self.info.name}: category_keys() needs a detector fitted on categories")
        return list(self.categories)

    def score_category_counts(self, observed: dict[str, int]) -> Score:
        """The same :class:`Score` as :meth:`score` of a categorical column, from the batch's counts by key."""
        if self.kind != "categorical":
            raise RuntimeError(f"{self.info.name}: score_category_counts() needs a detector fitted on categories")
        return self._score(*self._category_histograms(observed))

    def score(self, current: Any) -> Score:
        return self._score(*self.histograms(current))

    def _score(self, ref_counts: np.ndarray, cur_counts: np.ndarray, details: dict[str, Any]) -> Score:
        p_ref = smoothed(ref_counts, self.smoothing)
        p_cur = smoothed(cur_counts, self.smoothing)
        details["cells"] = int(ref_counts.size)
        return Score(statistic=float(self.divergence(p_ref, p_cur)), details=details)

    def to_profile(self) -> dict[str, Any]:
        if self.kind is None:
            raise RuntimeError(f"{self.info.name}: to_profile() called before fit()")
        profile: dict[str, Any] = {"kind": self.kind, "bins": self.bins, "smoothing": self.smoothing}
        if self.kind == "categorical":
            profile["counts"] = dict(self.categories)
        else:
            assert self.edges is not None and self.reference_counts is not None
            profile["edges"] = profile_array(self.edges)
            profile["cell_counts"] = [int(c) for c in self.reference_counts]
        return profile

    @classmethod
    def from_profile(cls, profile: dict[str, Any]) -> BinnedDivergence:
        detector = cls(bins=int(profile["bins"]), smoothing=float(profile["smoothing"]))
        detector.kind = profile["kind"]
        if detector.kind == "categorical":
            detector.categories = {str(k): int(v) for k, v in profile["counts"].items()}
            if not detector.categories:
                raise ValueError(f"{cls.info.name} profile: empty 'counts'")
        elif detector.kind == "numeric":
            detector.edges = decode_array(profile["edges"]).astype(np.float64, copy=False)
            detector.reference_counts = np.asarray(profile["cell_counts"], dtype=np.int64)
            if detector.reference_counts.size != detector.edges.size + 1:
                raise ValueError(f"{cls.info.name} profile: 'cell_counts' must have len(edges) + 1 entries")
        else:
            raise ValueError(f"{cls.info.name} profile: kind must be 'numeric' or 'categorical'")
        return detector
