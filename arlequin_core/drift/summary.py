"""Small per-column summaries for plots: what the HTML report draws.

Kept apart from the detectors' fitted state because any detector may be configured
for a column while the plots should always look the same.

* numeric: ``{"type": "histogram", "edges": [31 floats], "counts": [30 ints],
  "below": int, "above": int}``: 30 equal-width bins between the reference's 0.1 %
  and 99.9 % quantiles (so one outlier does not squash the plot), and how many
  values fall below and above them. For strictly positive values spanning more than
  two orders of magnitude (amounts, balances, distances) the bins are equal in log
  space and the summary says ``"scale": "log"``, so the plot's x-axis is logarithmic;
* categorical: ``{"type": "bars", "categories": [...], "counts": [...], "other": int}``:
  the 30 most frequent reference categories and the total of the rest.

The batch is summarised on the reference's bins / categories, only when a plot is
asked for (:func:`summarize_like`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from arlequin_core.drift.columns import category_counts, numeric_values

BINS = 30
#: Log-spaced bins when the 0.1 % .. 99.9 % range of positive values spans this ratio.
LOG_RATIO = 100.0
TOP_CATEGORIES = 30
#: The quantiles the numeric bins span.
QUANTILES = (0.001, 0.999)


def summarize(
    values: Any, kind: str, *, presorted: bool = False, counts: dict[str, int] | None = None
) -> dict[str, Any]:
    """The reference summary of one column (numeric: float64 array; categorical: Arrow array).

    :param presorted: numeric ``values`` are sorted ascending without NaN: no pass over them
        (quantiles and bin counts are binary searches), the same summary.
    :param counts: the categorical column's :func:`~arlequin_core.drift.columns.category_counts`, if known.
    """
    if kind == "categorical":
        found = category_counts(values) if counts is None else counts
        counts_ = sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))
        top = counts_[:TOP_CATEGORIES]
        return {
            "type": "bars",
            "categories": [k for k, _ in top],
            "counts": [int(c) for _, c in top],
            "other": int(sum(c for _, c in counts_[TOP_CATEGORIES:])),
        }
    if presorted:
        ordered = np.asarray(values, dtype=np.float64)
        finite = ordered[np.searchsorted(ordered, -np.inf, side="right") : np.searchsorted(ordered, np.inf)]
    else:
        finite = numeric_values(values)
        finite = finite[np.isfinite(finite)]
    histogram = _sorted_histogram if presorted else _histogram
    if finite.size == 0:
        lo, hi = -0.5, 0.5
    else:
        qs = sorted_quantiles(finite, QUANTILES) if presorted else np.quantile(finite, QUANTILES)
        lo, hi = (float(q) for q in qs)
        if lo == hi:
            lo, hi = float(finite.min()), float(finite.max())
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
    if lo > 0 and hi / lo >= LOG_RATIO:
        return {**histogram(finite, np.geomspace(lo, hi, BINS + 1)), "scale": "log"}
    return histogram(finite, np.linspace(lo, hi, BINS + 1))


def sorted_quantiles(ordered: np.ndarray, qs: Any) -> np.ndarray:
    """``np.quantile(ordered, qs)`` (method ``linear``) of values sorted ascending without NaN,
    from the two values around each quantile: no pass over the array. Same formula as numpy's."""
    n = ordered.size
    virtual = (n - 1) * np.asarray(qs, dtype=np.float64)
    below = np.floor(virtual).astype(np.intp)
    above = np.minimum(below + 1, n - 1)
    gamma = virtual - below
    a, b = ordered[below], ordered[above]
    diff = b - a
    out = a + diff * gamma
    np.subtract(b, diff * (1 - gamma), out=out, where=gamma >= 0.5)
    return out


def summarize_like(summary: dict[str, Any], values: Any) -> dict[str, Any]:
    """A batch column summarised on the reference summary's bins or categories.

    Categorical: the counts of the reference's listed categories, ``other`` for the
    other reference categories and categories never seen (``unseen`` lists how many).
    """
    if summary["type"] == "bars":
        counts = category_counts(values)
        listed = [int(counts.get(k, 0)) for k in summary["categories"]]
        return {
            "type": "bars",
            "categories": list(summary["categories"]),
            "counts": listed,
            "other": int(sum(counts.values()) - sum(listed)),
        }
    finite = numeric_values(values)
    result = _histogram(finite[np.isfinite(finite)], np.asarray(summary["edges"], dtype=np.float64))
    if "scale" in summary:
        result["scale"] = summary["scale"]
    return result


def _histogram(values: np.ndarray, edges: np.ndarray) -> dict[str, Any]:
    inside = (values >= edges[0]) & (values <= edges[-1])
    counts, _ = np.histogram(values[inside], bins=edges)
    return {
        "type": "histogram",
        "edges": [float(e) for e in edges],
        "counts": [int(c) for c in counts],
        "below": int(np.count_nonzero(values < edges[0])),
        "above": int(np.count_nonzero(values > edges[-1])),
    }


def _sorted_histogram(ordered: np.ndarray, edges: np.ndarray) -> dict[str, Any]:
    """:func:`_histogram` of finite values sorted ascending: the same counts, by binary search
    (``np.histogram``'s bins are ``[e_i, e_i+1)``, the last one closed)."""
    at = np.searchsorted(ordered, edges, side="left")
    last = int(np.searchsorted(ordered, edges[-1], side="right"))
    counts = np.diff(np.append(at[:-1], last))
    return {
        "type": "histogram",
        "edges": [float(e) for e in edges],
        "counts": [int(c) for c in counts],
        "below": int(at[0]),
        "above": int(ordered.size - last),
    }
