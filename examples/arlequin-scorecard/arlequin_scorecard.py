"""Example third-party trainer plugin: a binned naive-Bayes scorecard (``trainer = "scorecard"``).

A user's own training code, plugged into Arlequin's retraining flow: Arlequin reads
the batches, derives the label and picks the features exactly as for its built-in
trainers, and then logs, registers, validates (paired test against the champion)
and promotes whatever this trainer returns.

The model: each numeric feature is cut at the deciles of its training values (plus
a bin for missing values), each categorical feature keeps its training categories
(plus missing; an unseen category carries no evidence), and the log-odds of class 1
are ``log(N1 / N0) + sum over features of log(P(bin | 1) / P(bin | 0))`` with
Laplace smoothing ``alpha`` (``[training] params = { alpha = 1.0 }``). That is
naive Bayes on the binned features; the test checks it against
``sklearn.naive_bayes.CategoricalNB``.

It is logged as an MLflow pyfunc model defined in code
(:mod:`arlequin_scorecard_model`) with the scorecard as a JSON artifact: no pickle.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from arlequin_core.errors import ConfigError, InputError
from arlequin_core.io import read_table, write_table_atomic
from arlequin_core.training.base import EXAMPLE_ROWS, TrainedModel, Trainer
from arlequin_core.training.errors import TrainingError
from arlequin_core.training.features import FeatureSpec, infer_features
from arlequin_core.training.metrics import compute_metrics

MODEL_CODE = Path(__file__).with_name("arlequin_scorecard_model.py")
QUANTILES = np.linspace(0.1, 0.9, 9)


def _model_input(table: pa.Table, features: FeatureSpec, where: str) -> pd.DataFrame:
    """Numeric features as float64, categorical ones as strings (None when missing)."""
    missing = [c for c in features.columns if c not in table.column_names]
    if missing:
        raise InputError(where, f"missing feature column(s) {', '.join(missing)} the scorecard was trained on")
    columns: dict[str, Any] = {}
    for name in features.numeric:
        columns[name] = pc.cast(table.column(name), pa.float64()).to_numpy(zero_copy_only=False)
    for name in features.categorical:
        arr = table.column(name)
        if pa.types.is_boolean(arr.type):
            arr = pc.if_else(arr, "true", "false")
        columns[name] = pc.cast(arr, pa.string()).to_pandas()
    return pd.DataFrame(columns, columns=features.columns)


def _weights(codes: np.ndarray, y: np.ndarray, k: int, alpha: float) -> list[float]:
    """Smoothed ``log P(code | 1) - log P(code | 0)`` for codes ``0..k-1``."""
    n1 = np.bincount(codes[y == 1], minlength=k).astype(float)
    n0 = np.bincount(codes[y == 0], minlength=k).astype(float)
    p1 = (n1 + alpha) / (n1.sum() + alpha * k)
    p0 = (n0 + alpha) / (n0.sum() + alpha * k)
    return (np.log(p1) - np.log(p0)).tolist()


def fit_scorecard(frame: pd.DataFrame, y: np.ndarray, features: FeatureSpec, alpha: float) -> dict[str, Any]:
    """The scorecard (a JSON-able dict) of ``frame`` (model input) and 0/1 labels ``y``."""
    card: dict[str, Any] = {
        "intercept": float(np.log((y == 1).sum()) - np.log((y == 0).sum())),
        "numeric": {},
        "categorical": {},
        "alpha": alpha,
    }
    for name in features.numeric:
        values = frame[name].to_numpy(dtype=np.float64)
        present = values[~np.isnan(values)]
        edges = np.unique(np.quantile(present, QUANTILES)) if present.size else np.array([])
        codes = np.where(np.isnan(values), edges.size + 1, np.searchsorted(edges, values, side="right"))
        card["numeric"][name] = {"edges": edges.tolist(), "weights": _weights(codes, y, edges.size + 2, alpha)}
    for name in features.categorical:
        values = frame[name]
        levels = sorted(values.dropna().unique().tolist())
        index = {v: i for i, v in enumerate(levels)}
        codes = np.array([len(levels) if v is None or v != v else index[v] for v in values])
        weights = _weights(codes, y, len(levels) + 1, alpha)
        card["categorical"][name] = {"weights": dict(zip(levels, weights[:-1], strict=True)), "missing": weights[-1]}
    return card


class ScorecardTrainer(Trainer):
    """A binned naive-Bayes scorecard (see the module docstring)."""

    name = "scorecard"
    flavor = "pyfunc"

    def _alpha(self) -> float:
        params = dict(self.config.training.params)
        unknown = sorted(set(params) - {"alpha"})
        if unknown:
            raise ConfigError(f"[training] params: {', '.join(unknown)} not accepted by scorecard; valid: alpha")
        alpha = params.get("alpha", 1.0)
        if not isinstance(alpha, (int, float)) or alpha <= 0:
            raise ConfigError(f"[training] params: alpha must be a number > 0 for scorecard; got {alpha!r}")
        return float(alpha)

    def _read(self, data: Any) -> tuple[pa.Table, str]:
        if isinstance(data, pa.Table):
            return data, "data"
        if isinstance(data, pd.DataFrame):
            return pa.Table.from_pandas(data, preserve_index=False), "data"
        uris = [str(u) for u in data]
        tables = [read_table(u, self.config.data.format) for u in uris]
        return pa.concat_tables(tables, promote_options="permissive"), uris[0]

    def train(self, data: Any, **kwargs: Any) -> TrainedModel:
        alpha = self._alpha()
        if self.config.training.task == "regression":
            raise ConfigError("[training] task = 'regression': the scorecard trainer is for classification only")
        table, where = self._read(data)
        y_all, missing = self.label.labels(table, where)
        labelled = table.filter(pa.array(~missing))
        y = y_all[~missing].astype(np.int64)
        if np.unique(y).size < 2 or y.size < 4:
            raise TrainingError(f"{where}: the scorecard needs both classes and at least 4 labelled rows")
        rng = np.random.default_rng(self.config.training.seed)
        order = rng.permutation(y.size)
        cut = max(1, round(y.size * self.config.training.test_size))
        test_idx, train_idx = np.sort(order[:cut]), np.sort(order[cut:])
        train_rows, test_rows = labelled.take(pa.array(train_idx)), labelled.take(pa.array(test_idx))
        features = infer_features(train_rows, self.config, self.label.source_columns)
        x_train = _model_input(train_rows, features, where)
        card = fit_scorecard(x_train, y[train_idx], features, alpha)
        card["features"] = features.to_dict()
        write_table_atomic(test_rows, kwargs["heldout_uri"], "parquet")
        from arlequin_scorecard_model import probability

        proba = probability(card, _model_input(test_rows, features, where))
        return TrainedModel(
            model=card,
            trainer=self.name,
            features=features,
            metrics=compute_metrics(y[test_idx], proba),
            params={"alpha": alpha, "bins": len(QUANTILES) + 1},
            rows={"train": int(train_idx.size), "heldout": int(test_idx.size), "unlabelled": int(missing.sum())},
            reference=train_rows,
            heldout_uri=kwargs["heldout_uri"],
            example=x_train.head(EXAMPLE_ROWS).reset_index(drop=True),
        )

    @staticmethod
    def card_of(model: Any) -> dict[str, Any]:
        """The scorecard dict of a trained (dict) or loaded (pyfunc) model."""
        return model if isinstance(model, dict) else model.unwrap_python_model().card

    def score(self, model: Any, data: Any, where: str = "data") -> tuple[np.ndarray, np.ndarray]:
        from arlequin_scorecard_model import probability

        table, name = self._read(data)
        where = where if where != "data" else name
        y, missing = self.label.labels(table, where)
        table = table.filter(pa.array(~missing))
        if table.num_rows == 0:
            raise InputError(where, "no labelled rows to score")
        card = self.card_of(model)
        frame = _model_input(table, FeatureSpec.from_dict(card["features"]), where)
        return y[~missing].astype(np.int64), probability(card, frame)

    def pip_requirements(self, model: Any = None) -> list[str]:
        import mlflow

        return [f"mlflow=={mlflow.__version__}", f"numpy=={np.__version__}", f"pandas=={pd.__version__}"]

    def _kwargs(self, card: dict[str, Any], example: pd.DataFrame, tmp: str) -> dict[str, Any]:
        from arlequin_scorecard_model import probability
        from mlflow.models import infer_signature

        path = Path(tmp) / "scorecard.json"
        path.write_text(json.dumps(card), encoding="utf-8")
        return {
            "python_model": str(MODEL_CODE),
            "artifacts": {"scorecard": str(path)},
            "signature": infer_signature(example, probability(card, example)),
            "input_example": example,
            "pip_requirements": self.pip_requirements(),
        }

    def save(self, model: Any, path: str, example: Any) -> None:
        import mlflow.pyfunc

        with tempfile.TemporaryDirectory() as tmp:
            mlflow.pyfunc.save_model(path, **self._kwargs(self.card_of(model), example, tmp))

    def log_model(self, model: Any, example: Any) -> str:
        import mlflow.pyfunc

        with tempfile.TemporaryDirectory() as tmp:
            info = mlflow.pyfunc.log_model(name="model", **self._kwargs(self.card_of(model), example, tmp))
        return str(info.model_uri)

    def load(self, uri: str) -> Any:
        import mlflow.pyfunc

        return mlflow.pyfunc.load_model(uri)
