"""Seeded streams with known change points, shared by the river tests."""

from __future__ import annotations

import numpy as np

from arlequin_river import (
    AdwinDetector,
    DdmDetector,
    EddmDetector,
    HddmADetector,
    HddmWDetector,
    KswinDetector,
    PageHinkleyDetector,
)

VALUE_DETECTORS = (AdwinDetector, KswinDetector, PageHinkleyDetector)
ERROR_DETECTORS = (DdmDetector, EddmDetector, HddmADetector, HddmWDetector)
ALL_DETECTORS = VALUE_DETECTORS + ERROR_DETECTORS


def reference(cls: type, seed: int = 0, n: int = 1000) -> np.ndarray:
    """A stationary reference stream for ``cls``: N(50, 5) values, or 10% errors."""
    rng = np.random.default_rng(seed)
    if cls.binary:
        return rng.binomial(1, 0.1, n).astype(float)
    return rng.normal(50.0, 5.0, n)


def changed(cls: type, seed: int = 1, before: int = 500, after: int = 500) -> np.ndarray:
    """``before`` rows like the reference, then a clear change: +3 sd, or 10% -> 50% errors."""
    rng = np.random.default_rng(seed)
    if cls.binary:
        return np.concatenate([rng.binomial(1, 0.1, before), rng.binomial(1, 0.5, after)]).astype(float)
    return np.concatenate([rng.normal(50.0, 5.0, before), rng.normal(65.0, 5.0, after)])


def ar1(rng: np.random.Generator, n: int, phi: float) -> np.ndarray:
    """An AR(1) series with lag-1 correlation ``phi`` and unit marginal variance."""
    e = rng.normal(0.0, np.sqrt(1.0 - phi**2), n)
    x = np.empty(n)
    x[0] = rng.normal()
    for t in range(1, n):
        x[t] = phi * x[t - 1] + e[t]
    return x


def fired(detector: object, values: list[float]) -> list[int]:
    """Positions where a river detector, fed ``values`` one by one, fired."""
    hits = []
    for i, x in enumerate(values):
        detector.update(x)  # type: ignore[attr-defined]
        if detector.drift_detected:  # type: ignore[attr-defined]
            hits.append(i)
    return hits


def detection_rows(detector: object, batches: list[np.ndarray]) -> list[int]:
    """Rows (counted over all ``batches``) where an Arlequin online detector fired."""
    out, offset = [], 0
    for batch in batches:
        out += [offset + r for r in detector.score(batch).details["detections"]]  # type: ignore[attr-defined]
        offset += batch.size
    return out
