"""Seeded data and configs shared by the training tests (imported by name: tests are not a package)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arlequin_core.config import ArlequinConfig


def labelled_frame(n: int = 2000, seed: int = 0, shift: float = 0.0, concept: str = "x1") -> pd.DataFrame:
    """A seeded binary-classification batch.

    ``y`` depends on ``x1`` (``concept="x1"``) or on ``x2`` (``concept="x2"``: the
    relationship changed), on the category ``c`` and on ``flag``. ``x2`` and ``c`` have
    ~5% missing values; ``id`` is an identifier column.
    """
    rng = np.random.default_rng(seed)
    x1 = rng.normal(shift, 1.0, n)
    x2 = rng.normal(0.0, 2.0, n)
    c = rng.choice(np.array(["a", "b", "c", "d"]), n)
    flag = rng.random(n) < 0.3
    signal = 2.0 * x1 if concept == "x1" else 1.5 * x2
    logit = signal + np.where(c == "a", 1.0, -0.5) + 0.8 * flag
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    df = pd.DataFrame({"id": np.arange(n), "x1": x1, "x2": x2, "c": c, "flag": flag, "y": y})
    df.loc[rng.random(n) < 0.05, "x2"] = np.nan
    df.loc[rng.random(n) < 0.05, "c"] = None
    return df


def make_config(home: Path, **sections: dict[str, Any]) -> ArlequinConfig:
    """A config with ``home`` and a label column ``y``, plus ``sections`` merged in."""
    data: dict[str, Any] = {
        "arlequin": {"home": str(home), "journal_fsync": False},
        "data": {"label": "y", "exclude": ["id"]},
        "mlflow": {"request_retries": 0, "request_timeout": 5},
    }
    for key, value in sections.items():
        data[key] = {**data.get(key, {}), **value}
    return ArlequinConfig.model_validate(data)
