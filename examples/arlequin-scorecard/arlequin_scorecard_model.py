"""The scorecard as an MLflow pyfunc model, defined in code (MLflow's "models from code").

MLflow copies this file into the model directory and runs it on load: the fitted
scorecard itself is a JSON artifact, so nothing is pickled and loading runs only this
file's code.
"""

from __future__ import annotations

import json
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel


def log_odds(card: dict[str, Any], frame: pd.DataFrame) -> np.ndarray:
    """The scorecard's log-odds of class 1 for each row of ``frame`` (the model input)."""
    total = np.full(len(frame), float(card["intercept"]))
    for name, spec in card["numeric"].items():
        values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64)
        codes = np.searchsorted(np.asarray(spec["edges"], dtype=np.float64), values, side="right")
        codes = np.where(np.isnan(values), len(spec["weights"]) - 1, codes)
        total += np.asarray(spec["weights"], dtype=np.float64)[codes]
    for name, spec in card["categorical"].items():
        weights = spec["weights"]
        missing = spec["missing"]
        # A category unseen in training carries no evidence (weight 0).
        total += np.array([missing if v is None or v != v else weights.get(str(v), 0.0) for v in frame[name]])
    return total


def probability(card: dict[str, Any], frame: pd.DataFrame) -> np.ndarray:
    """The probability of class 1 for each row."""
    return 1.0 / (1.0 + np.exp(-log_odds(card, frame)))


class ScorecardModel(PythonModel):
    """``predict`` gives the probability of class 1 of each row."""

    def load_context(self, context: Any) -> None:
        with open(context.artifacts["scorecard"], encoding="utf-8") as f:
            self.card = json.load(f)

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> np.ndarray:
        return probability(self.card, model_input)


mlflow.models.set_model(ScorecardModel())
