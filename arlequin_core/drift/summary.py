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


def summarize(values: Any, kind: str) -> dict[str, Any]:
    """The reference summary of one column (numeric: float64 array; categorical: Arrow array)."""
    if kind == "categorical":
        counts = sorted(category_counts(values).items(), key=lambda kv: (-kv[1], kv[0]))
        top = counts[:TOP_CATEGORIES]
        return {
            "type": "bars",
            "categories": [k for k, _ in top],
            "counts": [int(c) for _, c in top],
            "other": int(sum(c for _, c in counts[TOP_CATEGORIES:])),
        }
    finite = numeric_values(values)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        lo, hi = -0.5, 0.5
    else:
        lo, hi = (float(q) for q in np.quantile(finite, [0.001, 0.999]))
        if lo == hi:
            lo, hi = float(finite.min()), float(finite.max())
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
    if lo > 0 and hi / lo >= LOG_RATIO:
        return {**_histogram(finite, np.geomspace(lo, hi, BINS + 1)), "scale": "log"}
    return _histogram(finite, np.linspace(lo, hi, BINS + 1))


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
