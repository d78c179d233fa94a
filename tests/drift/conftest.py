"""Fixtures of the drift tests: a loaded plugin host and seeded data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from arlequin_core.config import ArlequinConfig
from arlequin_core.plugins import PluginHost
from arlequin_core.registry import ComponentRegistry


@pytest.fixture(scope="session")
def registry() -> ComponentRegistry:
    """The registry of the installed plugins (built-in detectors included)."""
    host = PluginHost().load()
    assert not host.failures, host.failures
    return host.registry


@pytest.fixture
def config() -> ArlequinConfig:
    """Defaults, with a label column."""
    return ArlequinConfig.model_validate({"data": {"label": "label"}})


@pytest.fixture
def make_frame():
    """A factory of seeded frames (see :func:`frame`)."""
    return frame


def frame(n: int, seed: int, scale: float = 1.0, shift_categories: bool = False) -> pd.DataFrame:
    """Six features: 3 numeric (one scaled by ``scale``), 3 categorical (one shifted), and a label."""
    rng = np.random.default_rng(seed)
    colour_p = [0.1, 0.2, 0.7] if shift_categories else [0.5, 0.3, 0.2]
    return pd.DataFrame(
        {
            "income": rng.lognormal(10, 0.5, n),
            "age": rng.normal(40, 12, n) * scale,
            "score": rng.uniform(0, 1, n),
            "colour": rng.choice(["red", "green", "blue"], n, p=colour_p),
            "rating": rng.integers(1, 6, n),
            "member": rng.random(n) < 0.3,
            "label": rng.integers(0, 2, n),
        }
    )
