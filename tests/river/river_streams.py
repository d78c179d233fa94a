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
