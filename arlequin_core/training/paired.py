"""Challenger vs champion on the same rows: a paired test of the difference of one metric.

Both models score the same held-out rows, so their errors are correlated; a test
that treats the two metrics as independent would be far too wide, and comparing two
point estimates says nothing about noise. Two paired methods:

* **ROC AUC: DeLong's test** (DeLong, DeLong & Clarke-Pearson 1988). With ``m``
  positives ``X`` and ``n`` negatives ``Y``, and ``psi(x, y) = 1`` if ``x > y``,
  ``1/2`` if equal, ``0`` otherwise, each model ``r`` has placement values
  ``V10[r, i] = mean_j psi(X[r, i], Y[r, j])`` (one per positive) and
  ``V01[r, j] = mean_i psi(X[r, i], Y[r, j])`` (one per negative); its AUC is the mean
  of either. With ``S10``, ``S01`` their 2x2 sample covariance matrices (``ddof=1``),
  ``S = S10 / m + S01 / n`` and ``var(AUC_a - AUC_b) = S[0,0] + S[1,1] - 2 S[0,1]``;
  the difference over its standard error is compared with a standard normal.
  Placements come from mid-ranks (Sun & Xu 2014), so the cost is three sorts per
  model, ``O(N log N)``, not ``O(m n)``.
* **Every other metric: a paired bootstrap over rows**, seeded. Each resample draws
  ``N`` rows with replacement, *the same rows for both models*, and recomputes both
  metrics; the interval is the percentile interval of the resampled differences and
  the p-value is the share of centred resampled differences at least as far from 0
  as the observed one (two-sided). A resample is a vector of row weights (how often
  each row was drawn), and every metric is computed as a weighted metric, equal to
  scikit-learn's with ``sample_weight`` (a test checks it), in chunks of resamples.

The verdict (:func:`decide`) reads the interval of the *improvement* (challenger
minus champion, sign-flipped for metrics where lower is better):

* ``non_inferior`` (default): promote unless the whole interval lies below
  ``-tolerance`` (the challenger is significantly worse by more than the tolerance);
* ``superior``: promote only when the whole interval lies above 0.

The p-value recorded is that of the two-sided test of "no difference".
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from arlequin_core.training.metrics import LOWER_IS_BETTER, METRIC_TASK

Rule = Literal["non_inferior", "superior"]
RULES: tuple[str, ...] = ("non_inferior", "superior")
#: Resamples of the paired bootstrap per chunk (bounds memory: chunk x rows weights).
_CHUNK_CELLS = 4_000_000


@dataclass(frozen=True)
class PairedComparison:
    """The challenger's and the champion's metric on the same rows, and their difference.

    ``difference`` is challenger minus champion in the metric's units; ``low`` and
    ``high`` bound it at ``confidence``; ``p_value`` is the two-sided p-value of no
    difference. ``method`` is ``delong`` or ``bootstrap`` (then ``resamples`` and
    ``seed`` say how).
    """

    metric: str
    method: str
    challenger: float
    champion: float
    difference: float
    low: float
    high: float
    p_value: float
    confidence: float
    rows: int
    resamples: int = 0
    seed: int | None = None

    @property
    def improvement(self) -> tuple[float, float, float]:
        """(estimate, low, high) of the improvement: positive means the challenger is better."""
        if self.metric in LOWER_IS_BETTER:
            return -self.difference, -self.high, -self.low
        return self.difference, self.low, self.high

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict of every field."""
        return asdict(self)


# --------------------------------------------------------------------------- #
# DeLong
# --------------------------------------------------------------------------- #


def placements(y: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeLong's placement values of one model: ``(V10, V01)``, shapes ``(m,)`` and ``(n,)``.

    ``V10[i]`` is the share of negatives scored below positive ``i`` (ties count 1/2);
    ``V01[j]`` the share of positives scored above negative ``j``.
    """
    from scipy.stats import rankdata

    pos, neg = score[y == 1], score[y == 0]
    m, n = pos.size, neg.size
    ranks = rankdata(np.concatenate([pos, neg]))
    v10 = (ranks[:m] - rankdata(pos)) / n
    v01 = 1.0 - (ranks[m:] - rankdata(neg)) / m
    return v10, v01


def delong(y: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """DeLong's test of two correlated ROC AUCs on the same rows.

    :param y: 0/1 labels, shape ``(N,)``; both classes must occur at least twice.
    :param a: scores of model a, shape ``(N,)`` (any monotone scale).
    :param b: scores of model b.
    :returns: ``(auc_a, auc_b, var)`` with ``var`` the variance of ``auc_a - auc_b``.
    :raises ValueError: shapes differ, or fewer than two rows of a class.
    """
    y, a, b = _paired_arrays(y, a, b)
    m, n = int((y == 1).sum()), int((y == 0).sum())
    if m < 2 or n < 2:
        raise ValueError(f"DeLong's test needs at least 2 positives and 2 negatives; got {m} and {n}")
    v10a, v01a = placements(y, a)
    v10b, v01b = placements(y, b)
    s10 = np.cov(np.vstack([v10a, v10b]), ddof=1)
    s01 = np.cov(np.vstack([v01a, v01b]), ddof=1)
    s = s10 / m + s01 / n
    var = float(s[0, 0] + s[1, 1] - 2.0 * s[0, 1])
    return float(v10a.mean()), float(v10b.mean()), max(var, 0.0)


def _paired_arrays(y: Any, a: Any, b: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = np.asarray(y).astype(np.float64).ravel()
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if not (y.shape == a.shape == b.shape):
        raise ValueError(f"paired scores need the same rows: {y.size} labels, {a.size} and {b.size} scores")
    if y.size == 0:
        raise ValueError("no rows to compare on")
    return y, a, b


# --------------------------------------------------------------------------- #
# Weighted metrics (one row of weights per bootstrap resample)
# --------------------------------------------------------------------------- #


def weighted_metric(metric: str, y: np.ndarray, p: np.ndarray, w: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """``metric`` of (labels ``y``, scores ``p``) under each row of weights ``w``.

    :param y: shape ``(N,)``; 0/1 for classification metrics.
    :param p: positive-class probabilities (classification) or predictions (regression), ``(N,)``.
    :param w: non-negative weights, shape ``(B, N)``.
    :returns: shape ``(B,)``; equal to scikit-learn's metric with ``sample_weight=w[k]``.
    """
    w = np.atleast_2d(np.asarray(w, dtype=np.float64))
    total = w.sum(axis=1)
    if metric == "log_loss":
        eps = np.finfo(np.float64).eps
        q = np.clip(p, eps, 1.0 - eps)
        return w @ -(y * np.log(q) + (1.0 - y) * np.log1p(-q)) / total
    if metric in ("f1", "precision", "recall"):
        pred = (p >= threshold).astype(np.float64)
        tp, fp, fn = w @ (y * pred), w @ ((1.0 - y) * pred), w @ (y * (1.0 - pred))
        num = 2.0 * tp if metric == "f1" else tp
        den = {"f1": 2.0 * tp + fp + fn, "precision": tp + fp, "recall": tp + fn}[metric]
        return np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    if metric in ("roc_auc", "pr_auc"):
        return _weighted_ranking(metric, y, p, w)
    e = p - y
    if metric == "rmse":
        return np.sqrt(w @ (e * e) / total)
    if metric == "mae":
        return w @ np.abs(e) / total
    if metric == "r2":
        sse = w @ (e * e)
        sy, syy = w @ y, w @ (y * y)
        sst = syy - sy * sy / total
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(sst > 0, 1.0 - sse / sst, np.nan)
    raise ValueError(f"unknown metric {metric!r}")


def _weighted_ranking(metric: str, y: np.ndarray, p: np.ndarray, w: np.ndarray) -> np.ndarray:
    # Rows sorted by score, ties grouped: per-group positive and total weights give both areas.
    descending = metric == "pr_auc"
    order = np.argsort(-p if descending else p, kind="stable")
    ps = p[order]
    starts = np.flatnonzero(np.r_[True, ps[1:] != ps[:-1]])
    wo = w[:, order]
    gpos = np.add.reduceat(wo * y[order], starts, axis=1)
    gall = np.add.reduceat(wo, starts, axis=1)
    total_pos = gpos.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        if metric == "pr_auc":
            cpos, call = np.cumsum(gpos, axis=1), np.cumsum(gall, axis=1)
            precision = np.divide(cpos, call, out=np.zeros_like(cpos), where=call > 0)
            return (gpos * precision).sum(axis=1) / total_pos
        gneg = gall - gpos
        below = np.cumsum(gneg, axis=1) - gneg
        return (gpos * (below + 0.5 * gneg)).sum(axis=1) / (total_pos * gneg.sum(axis=1))


def bootstrap_weights(rows: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """``(resamples, rows)`` counts of each row in resamples drawn with replacement."""
    idx = rng.integers(0, rows, size=(resamples, rows))
    weights = np.empty((resamples, rows), dtype=np.float64)
    for r in range(resamples):  # one row at a time: the counts stay in cache (a third faster than one flat bincount)
        weights[r] = np.bincount(idx[r], minlength=rows)
    return weights


def paired_bootstrap(
    metric: str, y: Any, a: Any, b: Any, *, resamples: int = 1000, seed: int = 0
) -> tuple[float, float, np.ndarray]:
    """Paired bootstrap of ``metric(a) - metric(b)`` over rows.

    :returns: ``(metric_a, metric_b, differences)``: the metrics on all rows and the
        ``resamples`` resampled differences (NaN resamples, e.g. one class drawn, dropped).
    """
    y, a, b = _paired_arrays(y, a, b)
    ones = np.ones((1, y.size))
    full_a, full_b = float(weighted_metric(metric, y, a, ones)[0]), float(weighted_metric(metric, y, b, ones)[0])
    rng = np.random.default_rng(seed)
    chunk = max(1, min(resamples, _CHUNK_CELLS // y.size))
    diffs = []
    for start in range(0, resamples, chunk):
        w = bootstrap_weights(y.size, min(chunk, resamples - start), rng)
        diffs.append(weighted_metric(metric, y, a, w) - weighted_metric(metric, y, b, w))
    d = np.concatenate(diffs)
    return full_a, full_b, d[~np.isnan(d)]


# --------------------------------------------------------------------------- #
# The comparison and the verdict
# --------------------------------------------------------------------------- #


def compare_paired(
    metric: str,
    y: Any,
    challenger: Any,
    champion: Any,
    *,
    confidence: float = 0.95,
    resamples: int = 1000,
    seed: int = 0,
) -> PairedComparison:
    """Compare two models' scores on the same rows (DeLong for ``roc_auc``, else a paired bootstrap).

    :param y: true labels (0/1, or numbers for regression metrics), shape ``(N,)``.
    :param challenger: the challenger's positive-class probabilities (or predictions), ``(N,)``.
    :param champion: the champion's, on the same rows in the same order.
    :param confidence: of the interval, in (0, 1).
    :raises ValueError: unknown metric, mismatched shapes, no rows, or (``roc_auc``)
        fewer than two rows of a class.
    """
    from scipy.stats import norm

    if metric not in METRIC_TASK:
        raise ValueError(f"unknown metric {metric!r}; known: {', '.join(METRIC_TASK)}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1); got {confidence}")
    y, a, b = _paired_arrays(y, challenger, champion)
    alpha = 1.0 - confidence
    if metric == "roc_auc":
        auc_a, auc_b, var = delong(y, a, b)
        d, se = auc_a - auc_b, math.sqrt(var)
        if se == 0.0:
            p_value, low, high = (1.0 if d == 0.0 else 0.0), d, d
        else:
            z = norm.ppf(1.0 - alpha / 2.0)
            p_value = float(2.0 * norm.sf(abs(d) / se))
            low, high = float(d - z * se), float(d + z * se)
        return PairedComparison(metric, "delong", auc_a, auc_b, d, low, high, p_value, confidence, int(y.size))
    full_a, full_b, diffs = paired_bootstrap(metric, y, a, b, resamples=resamples, seed=seed)
    d = full_a - full_b
    if diffs.size == 0 or math.isnan(d):
        low = high = p_value = math.nan
    else:
        low, high = (float(q) for q in np.quantile(diffs, [alpha / 2.0, 1.0 - alpha / 2.0]))
        extreme = int(np.count_nonzero(np.abs(diffs - d) >= abs(d))) if d != 0.0 else diffs.size
        p_value = min(1.0, (extreme + 1) / (diffs.size + 1))
    return PairedComparison(
        metric, "bootstrap", full_a, full_b, d, low, high, p_value, confidence, int(y.size), int(resamples), seed
    )


def decide(comparison: PairedComparison, rule: str, tolerance: float) -> tuple[bool, str]:
    """Whether the challenger may replace the champion under ``rule``, and why (see the module docstring).

    A NaN challenger metric fails; a NaN champion metric lets a defined challenger pass.
    """
    if rule not in RULES:
        raise ValueError(f"unknown promotion rule {rule!r}; known: {', '.join(RULES)}")
    c = comparison
    shown = (
        f"{c.metric} challenger {c.challenger:.6g} vs champion {c.champion:.6g} on {c.rows} rows, "
        f"difference {c.difference:+.4g} ({c.confidence:.0%} interval [{c.low:+.4g}, {c.high:+.4g}], "
        f"p={c.p_value:.3g}, {c.method})"
    )
    if math.isnan(c.challenger):
        return False, f"{c.metric} is undefined for the challenger on the validation rows (one class only?); {shown}"
    if math.isnan(c.champion):
        return True, f"{c.metric} is undefined for the champion on the validation rows; {shown}"
    _, low, high = c.improvement
    if math.isnan(low):
        return False, f"no interval could be computed; {shown}"
    if rule == "superior":
        if low > 0.0:
            return True, f"significantly better than the champion (superior): {shown}"
        return False, f"not significantly better than the champion (superior): {shown}"
    if high < -tolerance:
        return False, f"significantly worse than the champion by more than {tolerance:g} (non_inferior): {shown}"
    return True, f"not significantly worse than the champion beyond {tolerance:g} (non_inferior): {shown}"
