"""Scoring online detectors against human-annotated change points.

The two measures of van den Burg and Williams, *An Evaluation of Change Point
Detection Algorithms* (arXiv:2003.06222, 2020), used by the Turing Change Point
Dataset (TCPD), written here from the paper's definitions:

* :func:`f1_score`: a change point ``t`` is found when a detection lies within
  ``margin`` rows of it (``|t - x| <= margin``), each detection finding at most one
  change point. The start of the series (row 0) counts as a change point of every
  annotator and as a detection of every detector, so a detector that never fires
  still has precision 1. Precision is measured against the union of the
  annotators' change points, recall per annotator and averaged.
* :func:`covering`: the segmentation the detections make, scored against each
  annotator's segmentation by the length-weighted best Jaccard overlap of every
  annotated segment, averaged over annotators.

:func:`detections` runs one of Arlequin's online detectors over a series the way
the monitor would (warm-up on the first rows, then the rest in batches, state kept),
and :func:`load_tcpd` reads a series in TCPD's JSON format. The benchmark
(``benchmarks/bench_online.py``) and the tests of the defaults use them.
"""

from __future__ import annotations

import inspect
import itertools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from arlequin_river.online import MAX_LISTED, OnlineDetector

__all__ = [
    "AnnotatedSeries",
    "covering",
    "detections",
    "f1_score",
    "load_tcpd",
    "river_defaults",
    "segments",
    "true_positives",
]


@dataclass(frozen=True)
class AnnotatedSeries:
    """A series and its annotations: ``columns`` (one float array per dimension, NaN = missing)."""

    name: str
    columns: tuple[np.ndarray, ...]
    annotations: Mapping[str, tuple[int, ...]]

    @property
    def n(self) -> int:
        """Rows in the series."""
        return int(self.columns[0].size)


def _locations(values: Iterable[int], n: int | None, what: str) -> set[int]:
    out = set()
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise ValueError(f"{what}: change point locations must be integers, got {v!r}")
        if v < 0 or (n is not None and v >= n):
            where = f"0 .. {n - 1}" if n is not None else ">= 0"
            raise ValueError(f"{what}: location {v} is outside the series ({where})")
        out.add(int(v))
    return out


def true_positives(truth: Iterable[int], predictions: Iterable[int], margin: int) -> int:
    """How many of ``truth`` are found by a distinct prediction within ``margin`` rows.

    A largest one-to-one matching: both sorted, each true location takes the first
    unused prediction at or after ``t - margin`` if it is at most ``t + margin``
    (optimal because every window has the same width).
    """
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    xs = sorted(set(predictions))
    found, j = 0, 0
    for t in sorted(set(truth)):
        while j < len(xs) and xs[j] < t - margin:
            j += 1
        if j < len(xs) and xs[j] <= t + margin:
            found += 1
            j += 1
    return found


def f1_score(
    annotations: Mapping[str, Iterable[int]],
    predictions: Iterable[int],
    n: int | None = None,
    margin: int = 5,
) -> tuple[float, float, float]:
    """(precision, recall, F1) of ``predictions`` against several annotators.

    :param annotations: annotator id -> 0-based change point rows (may be empty).
    :param predictions: rows where the detector fired.
    :param n: rows in the series; locations are checked to lie in ``[0, n)`` when given.
    :param margin: a detection within this many rows of a change point finds it.
    :raises ValueError: no annotator, or a location outside the series.
    """
    if not annotations:
        raise ValueError("f1_score needs at least one annotator")
    xs = _locations(predictions, n, "predictions") | {0}
    per_annotator = [_locations(v, n, f"annotator {k}") | {0} for k, v in annotations.items()]
    union = set().union(*per_annotator)
    precision = true_positives(union, xs, margin) / len(xs)
    recall = float(np.mean([true_positives(t, xs, margin) / len(t) for t in per_annotator]))
    return precision, recall, 2 * precision * recall / (precision + recall)


def segments(changes: Iterable[int], n: int) -> list[tuple[int, int]]:
    """The half-open segments ``[start, end)`` that change points at ``changes`` cut ``range(n)`` into."""
    cuts = [*sorted(_locations(changes, n, "changes") | {0}), n]
    return list(itertools.pairwise(cuts))


def _jaccard(a: tuple[int, int], b: tuple[int, int]) -> float:
    inter = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    return inter / ((a[1] - a[0]) + (b[1] - b[0]) - inter)


def covering(annotations: Mapping[str, Iterable[int]], predictions: Iterable[int], n: int) -> float:
    """Segmentation covering of the detections' segmentation, averaged over annotators.

    For one annotator's segments ``A`` and the predicted ones ``A'``:
    ``C = (1/n) * sum_A |A| * max_A' |A & A'| / |A | A'|``; 1 when they coincide.

    :raises ValueError: no annotator, ``n < 1``, or a location outside the series.
    """
    if not annotations:
        raise ValueError("covering needs at least one annotator")
    if n < 1:
        raise ValueError(f"covering needs a series of at least one row, got n={n}")
    predicted = segments(predictions, n)
    scores = []
    for changes in annotations.values():
        total = sum((a[1] - a[0]) * max(_jaccard(a, b) for b in predicted) for a in segments(changes, n))
        scores.append(total / n)
    return float(np.mean(scores))


def detections(
    make: Callable[[], OnlineDetector],
    columns: Sequence[np.ndarray],
    warmup: int,
    batch: int = MAX_LISTED,
    at: str = "change_starts",
) -> list[int]:
    """Rows of the changes a fresh detector per column found, pooled over the columns, sorted.

    Each column's detector is fitted on its first ``warmup`` rows (detections there are
    discarded, as in ``fit``) and then scores the rest in batches of ``batch`` rows, the
    state carried from batch to batch as in the monitor. A multi-column series is watched
    column by column, as the per-column policy does, and the rows are pooled.

    :param at: ``"change_starts"`` (where each detected change began, as the detector
        estimates it; see ``Score.details``) or ``"detections"`` (the rows where it fired).
    """
    if batch > MAX_LISTED:
        raise ValueError(f"batch must be at most {MAX_LISTED} rows, so every detection is listed")
    if at not in ("change_starts", "detections"):
        raise ValueError(f"at must be 'change_starts' or 'detections', got {at!r}")
    rows: set[int] = set()
    for column in columns:
        detector = make().fit(column[:warmup])
        for start in range(warmup, column.size, batch):
            details = detector.score(column[start : start + batch]).details
            rows.update(max(0, start + r) for r in details[at])
    return sorted(rows)


def river_defaults(cls: type[OnlineDetector]) -> OnlineDetector:
    """``cls`` built with river's own constructor defaults, read from river's signature.

    Parameters river leaves at ``None`` (KSWIN's ``seed``) keep Arlequin's default, and
    river-only ones (KSWIN's ``window``) are left out.
    """
    ours = inspect.signature(cls).parameters
    theirs = inspect.signature(cls.river_class).parameters
    params = {k: p.default for k, p in theirs.items() if k in ours and p.default is not None}
    return cls(**params)


def load_tcpd(path: str | Path, annotations: Mapping[str, Mapping[str, Sequence[int]]]) -> AnnotatedSeries:
    """One series in TCPD's JSON format (``name``, ``n_obs``, ``series[].raw``) with its annotations.

    :param annotations: TCPD's ``annotations.json`` (series name -> annotator -> rows).
    :raises ValueError: naming the file, when a key is missing or the lengths disagree.
    """
    path = Path(path)
    data = json.loads(path.read_text())
    try:
        name, n = data["name"], int(data["n_obs"])
        columns = tuple(np.array([np.nan if v is None else float(v) for v in s["raw"]]) for s in data["series"])
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a TCPD series file ({exc!r})") from exc
    if not columns or any(c.size != n for c in columns):
        raise ValueError(f"{path}: n_obs is {n} but the series have {[c.size for c in columns]} values")
    if name not in annotations:
        raise ValueError(f"{path}: no annotations for series {name!r}")
    marks = {k: tuple(int(v) for v in rows) for k, rows in annotations[name].items()}
    for k, rows in marks.items():
        _locations(rows, n, f"{path}: annotator {k}")
    return AnnotatedSeries(name, columns, marks)
