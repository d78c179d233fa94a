"""Confidence-based performance estimation (CBPE): the champion's performance without labels.

Labels arrive days or weeks after the data, if at all; the champion's predictions are
there at once. When its probabilities are calibrated (:mod:`.calibration`), a row
scored ``p`` is positive with probability ``p``, so the *expected* confusion matrix of
a batch follows from the scores alone (NannyML's CBPE; Sebastian Raschka's and
NannyML's write-ups describe the same estimator). With ``s_i`` the model's score of
row ``i``, ``p_i`` its calibrated probability and ``t`` the decision threshold
(:data:`~arlequin_core.training.metrics.THRESHOLD`, as training counts it):

* ``E[TP] = sum p_i [s_i >= t]``, ``E[FP] = sum (1 - p_i) [s_i >= t]``,
  ``E[FN] = sum p_i [s_i < t]``; precision, recall and F1 are computed from them;
* ROC AUC: ``sum_{i != j} p_i (1 - p_j) ([s_i > s_j] + [s_i = s_j] / 2)`` over
  ``sum_{i != j} p_i (1 - p_j)`` — the expected share of concordant (positive,
  negative) pairs, computed in ``O(n log n)`` from sorted scores.

Assumptions (say them beside every estimate): the relation between features and label
is unchanged (no concept drift: covariate shift only), and the calibration fitted on
the held-out rows holds on the batch. CBPE cannot see concept drift; the column tests
and, once labels arrive, the realised metrics and the error-stream detectors can.

The *band* is the expected sampling variation of the realised metric on a batch of
``n`` rows, the wider of two standard deviations:

* from the reference: the metric over random chunks of ``n`` held-out rows (drawn with
  replacement; computed at training for a grid of chunk sizes, :func:`sampling_table`),
  read at ``n`` by interpolation on log-log axes and scaled by ``sqrt(m / n)`` beyond
  the largest chunk size ``m`` (the metrics are smooth functions of means);
* from the batch itself: labels drawn as ``Bernoulli(p_i)`` from the batch's own
  calibrated probabilities (:data:`BATCH_REPETITIONS` times, on at most
  :data:`BATCH_ROWS` rows, scaled the same way). Reference chunks alone understate the
  variation when the batch's class balance moved (fewer positives: a noisier recall);
  this term follows the batch.

The band shown is ``estimate +- BAND_Z * std``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from arlequin_core.performance.calibration import Calibrator

#: Metrics CBPE estimates (higher is better for all of them).
ESTIMATED = ("roc_auc", "precision", "recall", "f1")
#: Half-width of the band, in standard deviations of the sampling error (NannyML's default).
BAND_Z = 3.0
#: Chunk sizes tried for the sampling table (those above the held-out size are dropped).
CHUNK_SIZES = (50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000)
#: Random chunks drawn per size.
REPETITIONS = 60
#: Simulated label draws on the batch, and the most batch rows they use.
BATCH_REPETITIONS = 30
BATCH_ROWS = 20_000


def expected_metrics(scores: np.ndarray, probabilities: np.ndarray, threshold: float) -> dict[str, float]:
    """The expected ROC AUC, precision, recall and F1 of a batch from its scores.

    :param scores: the model's raw positive-class scores, shape ``(n,)``.
    :param probabilities: their calibrated probabilities, shape ``(n,)``.
    :param threshold: a row is predicted positive when its raw score is at or above it.
    :returns: :data:`ESTIMATED` → value; NaN where undefined (no expected positives, or
        fewer than two rows for ROC AUC).
    """
    s = np.asarray(scores, dtype=np.float64)
    p = np.asarray(probabilities, dtype=np.float64)
    predicted = s >= threshold
    tp = float(p[predicted].sum())
    fp = float((1.0 - p[predicted]).sum())
    fn = float(p[~predicted].sum())
    return {
        "roc_auc": expected_roc_auc(s, p),
        "precision": tp / (tp + fp) if tp + fp > 0 else math.nan,
        "recall": tp / (tp + fn) if tp + fn > 0 else math.nan,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn > 0 else math.nan,
    }


def expected_roc_auc(scores: np.ndarray, probabilities: np.ndarray) -> float:
    """The expected share of concordant pairs (see the module docstring); NaN when undefined."""
    s = np.asarray(scores, dtype=np.float64)
    p = np.asarray(probabilities, dtype=np.float64)
    if s.size < 2:
        return math.nan
    order = np.argsort(s)
    s, p = s[order], p[order]
    q = 1.0 - p
    # Group tied scores: for a row in group g, the negatives strictly below weigh 1,
    # those tied with it weigh 1/2, itself excluded.
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    group_q = np.add.reduceat(q, starts)
    group_p = np.add.reduceat(p, starts)
    group_pq = np.add.reduceat(p * q, starts)
    below = np.cumsum(group_q) - group_q
    concordant = float(np.sum(group_p * below) + 0.5 * np.sum(group_p * group_q - group_pq))
    pairs = float(p.sum() * q.sum() - np.sum(p * q))
    return concordant / pairs if pairs > 0 else math.nan


def realised_metrics(y_true: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    """The same four metrics from labels (scikit-learn's definitions, NaN where undefined).

    ROC AUC counts ties as half, as :func:`sklearn.metrics.roc_auc_score` does (tested equal).
    """
    y = np.asarray(y_true).astype(np.float64)
    s = np.asarray(scores, dtype=np.float64)
    return _realised_many(y[None, :], s, threshold)[0]


def _realised_many(labels: np.ndarray, scores: np.ndarray, threshold: float) -> list[dict[str, float]]:
    """:func:`realised_metrics` for many label vectors (rows of ``labels``) of the same scores, vectorised."""
    order = np.argsort(scores)
    s = scores[order]
    y = labels[:, order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]]) if s.size else np.array([], dtype=np.int64)
    pos_group = np.add.reduceat(y, starts, axis=1) if s.size else np.zeros((y.shape[0], 0))
    sizes = np.diff(np.r_[starts, s.size])
    neg_group = sizes[None, :] - pos_group
    below = np.cumsum(neg_group, axis=1) - neg_group
    n_pos = pos_group.sum(axis=1)
    n_neg = s.size - n_pos
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (np.sum(pos_group * below, axis=1) + 0.5 * np.sum(pos_group * neg_group, axis=1)) / (n_pos * n_neg)
        predicted = s >= threshold
        tp = y[:, predicted].sum(axis=1)
        fp = predicted.sum() - tp
        fn = n_pos - tp
        precision = np.where(tp + fp > 0, tp / (tp + fp), np.nan)
        recall = np.where(tp + fn > 0, tp / (tp + fn), np.nan)
        f1 = np.where(tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), np.nan)
    auc = np.where((n_pos > 0) & (n_neg > 0), auc, np.nan)
    return [
        {"roc_auc": float(a), "precision": float(pr), "recall": float(r), "f1": float(f)}
        for a, pr, r, f in zip(auc, precision, recall, f1, strict=True)
    ]


def sampling_table(
    y_true: np.ndarray, scores: np.ndarray, threshold: float, seed: int = 0
) -> dict[str, list[list[float]]]:
    """Standard deviation of each realised metric over random chunks of the held-out rows.

    :returns: metric → ``[[chunk size, std], ...]`` for the :data:`CHUNK_SIZES` that fit
        in half the held-out rows.
    """
    y = np.asarray(y_true).astype(np.int64)
    s = np.asarray(scores, dtype=np.float64)
    rng = np.random.default_rng(seed)
    table: dict[str, list[list[float]]] = {m: [] for m in ESTIMATED}
    for size in CHUNK_SIZES:
        if size > y.size // 2:
            break
        values: dict[str, list[float]] = {m: [] for m in ESTIMATED}
        for _ in range(REPETITIONS):
            idx = rng.choice(y.size, size=size, replace=True)
            for metric, value in realised_metrics(y[idx], s[idx], threshold).items():
                if math.isfinite(value):
                    values[metric].append(value)
        for metric in ESTIMATED:
            if len(values[metric]) >= REPETITIONS // 2:
                table[metric].append([float(size), float(np.std(values[metric], ddof=1))])
    return table


def batch_std(scores: np.ndarray, probabilities: np.ndarray, threshold: float, seed: int = 0) -> dict[str, float]:
    """Std of each realised metric when labels are drawn from the batch's calibrated probabilities.

    :returns: metric → std at the batch's size (NaN where undefined); see the module docstring.
    """
    s = np.asarray(scores, dtype=np.float64)
    p = np.asarray(probabilities, dtype=np.float64)
    n = s.size
    rng = np.random.default_rng(seed)
    if n > BATCH_ROWS:
        idx = rng.choice(n, size=BATCH_ROWS, replace=False)
        s, p = s[idx], p[idx]
    draws = (rng.random((BATCH_REPETITIONS, s.size)) < p[None, :]).astype(np.float64)
    values: dict[str, list[float]] = {m: [] for m in ESTIMATED}
    for realised in _realised_many(draws, s, threshold):
        for metric, value in realised.items():
            if math.isfinite(value):
                values[metric].append(value)
    scale = math.sqrt(s.size / n) if n else math.nan
    return {
        m: float(np.std(v, ddof=1)) * scale if len(v) >= BATCH_REPETITIONS // 2 else math.nan for m, v in values.items()
    }


def sampling_std(table: Sequence[Sequence[float]], n: int) -> float:
    """The sampling standard deviation at ``n`` rows from a :func:`sampling_table` entry (NaN when empty)."""
    if not table or n <= 0:
        return math.nan
    sizes = np.log([row[0] for row in table])
    stds = np.array([row[1] for row in table])
    if np.any(stds <= 0):
        stds = np.maximum(stds, 1e-12)
    largest = float(np.exp(sizes[-1]))
    if n >= largest:
        return float(stds[-1] * math.sqrt(largest / n))
    return float(np.exp(np.interp(math.log(n), sizes, np.log(stds))))


@dataclass
class PerformanceModel:
    """What the profile keeps to estimate the champion's performance on a batch.

    :param calibrator: score → probability, fitted on the held-out rows.
    :param threshold: the decision threshold of the model's predictions.
    :param reference: the champion's realised :data:`ESTIMATED` metrics on its held-out rows.
    :param sampling: :func:`sampling_table` of the held-out rows.
    :param rows: held-out rows it was fitted on.
    """

    calibrator: Calibrator
    threshold: float
    reference: dict[str, float]
    sampling: dict[str, list[list[float]]] = field(default_factory=dict)
    rows: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (stored in the profile)."""
        return {
            "calibrator": _json_safe(self.calibrator.to_dict()),
            "threshold": self.threshold,
            "reference": _json_safe(self.reference),
            "sampling": self.sampling,
            "rows": self.rows,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PerformanceModel:
        """Rebuild from :meth:`to_dict` output."""
        return cls(
            calibrator=Calibrator.from_dict(data["calibrator"]),
            threshold=float(data["threshold"]),
            reference={k: math.nan if v is None else float(v) for k, v in data["reference"].items()},
            sampling={k: [list(map(float, row)) for row in v] for k, v in (data.get("sampling") or {}).items()},
            rows=int(data.get("rows", 0)),
        )

    def estimate(
        self, scores: np.ndarray, y_true: np.ndarray | None = None, labelled: np.ndarray | None = None
    ) -> dict[str, Any]:
        """Estimated metrics of a batch, with bands, and realised ones where labels are given.

        :param scores: the champion's raw scores of every row of the batch, shape ``(n,)``.
        :param y_true: labels of the labelled rows (``labelled`` mask over ``scores``), if any.
        :returns: ``{"rows": n, "metrics": {metric: {"estimated", "std", "lower", "upper",
            "reference", "realised"}}, "calibration": method}``.
        """
        s = np.asarray(scores, dtype=np.float64)
        probabilities = self.calibrator(s)
        estimated = expected_metrics(s, probabilities, self.threshold)
        from_batch = batch_std(s, probabilities, self.threshold)
        realised: dict[str, float] = {}
        labelled_rows = 0
        if y_true is not None and labelled is not None and labelled.any():
            labelled_rows = int(labelled.sum())
            realised = realised_metrics(y_true, s[labelled], self.threshold)
        metrics = {}
        for metric in ESTIMATED:
            value = estimated[metric]
            from_reference = sampling_std(self.sampling.get(metric, []), s.size)
            stds = [v for v in (from_reference, from_batch[metric]) if math.isfinite(v)]
            std = max(stds) if stds else math.nan
            entry = {
                "estimated": value,
                "std": std,
                "std_reference": from_reference,
                "std_batch": from_batch[metric],
                "lower": max(0.0, value - BAND_Z * std) if math.isfinite(std) else math.nan,
                "upper": min(1.0, value + BAND_Z * std) if math.isfinite(std) else math.nan,
                "reference": self.reference.get(metric, math.nan),
            }
            if realised:
                entry["realised"] = realised[metric]
            metrics[metric] = entry
        return {
            "rows": int(s.size),
            "labelled_rows": labelled_rows,
            "calibration": self.calibrator.method,
            "band_z": BAND_Z,
            "metrics": metrics,
        }


def fit_performance_model(y_true: np.ndarray, scores: np.ndarray, threshold: float, seed: int = 0) -> PerformanceModel:
    """Calibrate on the held-out rows and tabulate their sampling variation.

    :raises ValueError: too few rows of a class to calibrate (see :func:`.calibration.fit_calibrator`).
    """
    from arlequin_core.performance.calibration import fit_calibrator

    y = np.asarray(y_true).astype(np.int64)
    s = np.asarray(scores, dtype=np.float64)
    return PerformanceModel(
        calibrator=fit_calibrator(y, s, seed=seed),
        threshold=float(threshold),
        reference=realised_metrics(y, s, threshold),
        sampling=sampling_table(y, s, threshold, seed=seed),
        rows=int(y.size),
    )


def _json_safe(value: Any) -> Any:
    """``value`` with non-finite floats as None (profiles are strict JSON)."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
