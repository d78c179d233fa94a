"""The embedded default trainer ``sklearn-logreg``: scikit-learn, in-process.

Model: a :class:`~sklearn.pipeline.Pipeline` of a ``ColumnTransformer``
(numeric: median imputation then standard scaling; categorical: missing values to
``"__missing__"`` then one-hot encoding with ``handle_unknown="ignore"``, so a
category unseen in training is all zeros rather than an error) and a
``LogisticRegression`` (``[training] params`` are its keyword arguments).

Input of the model (its MLflow signature): numeric features as doubles, categorical
features as strings (booleans as ``"true"``/``"false"``, like Spark's cast).
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from arlequin_core.config import ArlequinConfig
from arlequin_core.errors import ConfigError, InputError
from arlequin_core.io import read_table, write_table_atomic
from arlequin_core.training.base import EXAMPLE_ROWS, TrainedModel, Trainer
from arlequin_core.training.errors import TrainingError
from arlequin_core.training.features import FeatureSpec, infer_features
from arlequin_core.training.metrics import compute_metrics

MISSING = "__missing__"
#: scikit-learn's default of 100 iterations stops short on wide one-hot data.
DEFAULT_PARAMS: dict[str, Any] = {"max_iter": 1000}


def read_batches(data: Any, config: ArlequinConfig) -> tuple[pa.Table, str]:
    """``data`` as one Arrow table, and a name for it in errors.

    :param data: a list of URIs (concatenated in order; schemas are unified), a
        pyarrow Table or a pandas DataFrame.
    :raises InputError: unreadable input, or batches whose columns cannot be unified.
    """
    if isinstance(data, pa.Table):
        return data, "data"
    if isinstance(data, pd.DataFrame):
        return pa.Table.from_pandas(data, preserve_index=False), "data"
    uris = [str(u) for u in data]
    if not uris:
        raise InputError("data", "no batches given")
    tables = [read_table(uri, config.data.format) for uri in uris]
    where = uris[0] if len(uris) == 1 else f"{uris[0]} (+{len(uris) - 1} more)"
    if len(tables) == 1:
        return tables[0], where
    try:
        return pa.concat_tables(tables, promote_options="permissive"), where
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise InputError(where, f"batches have incompatible columns: {exc}") from None


def model_input(table: pa.Table, features: FeatureSpec, where: str = "data") -> pd.DataFrame:
    """The model's input frame: numeric columns as float64 (NaN missing), categorical as str objects (None missing).

    :raises InputError: a feature column is missing.
    """
    missing = [c for c in features.columns if c not in table.column_names]
    if missing:
        raise InputError(where, f"missing feature column(s) {', '.join(missing)} the model was trained on")
    columns: dict[str, Any] = {}
    for name in features.numeric:
        arr = table.column(name)
        if pa.types.is_dictionary(arr.type):
            arr = arr.cast(arr.type.value_type)
        try:
            columns[name] = pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise InputError(where, f"column {name!r} is a numeric feature but holds {arr.type}: {exc}") from None
    for name in features.categorical:
        columns[name] = _as_strings(table.column(name)).to_pandas()
    return pd.DataFrame(columns, columns=features.columns)


def _as_strings(arr: Any) -> Any:
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    if pa.types.is_boolean(arr.type):
        return pc.if_else(arr, "true", "false")
    return pc.cast(arr, pa.string())


def _features_of(model: Any) -> FeatureSpec:
    transformer = model.named_steps["features"]
    kinds = {name: list(cols) for name, _, cols in transformer.transformers if name in ("numeric", "categorical")}
    return FeatureSpec(tuple(kinds.get("numeric", ())), tuple(kinds.get("categorical", ())))


def build_pipeline(features: FeatureSpec, params: dict[str, Any]) -> Any:
    """The unfitted scikit-learn pipeline for ``features``.

    :raises ConfigError: ``params`` has a key LogisticRegression does not take.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    valid = set(inspect.signature(LogisticRegression).parameters)
    unknown = sorted(set(params) - valid)
    if unknown:
        raise ConfigError(
            f"[training] params: {', '.join(unknown)} not accepted by sklearn-logreg (LogisticRegression); "
            f"valid: {', '.join(sorted(valid))}"
        )
    numeric = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
    categorical = Pipeline(
        [
            # NaN and None both mean missing (pandas gives either, depending on the source).
            ("impute_nan", SimpleImputer(strategy="constant", fill_value=MISSING)),
            ("impute_none", SimpleImputer(missing_values=None, strategy="constant", fill_value=MISSING)),
            ("onehot", OneHotEncoder(handle_unknown="ignore")),
        ]
    )
    transformers = []
    if features.numeric:
        transformers.append(("numeric", numeric, list(features.numeric)))
    if features.categorical:
        transformers.append(("categorical", categorical, list(features.categorical)))
    return Pipeline(
        [
            ("features", ColumnTransformer(transformers, remainder="drop")),
            ("model", LogisticRegression(**{**DEFAULT_PARAMS, **params})),
        ]
    )


def split_indices(y: np.ndarray, test_size: float, seed: int, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Train and held-out row indices: stratified by the label when each class has 2+ rows.

    :raises TrainingError: fewer than two classes, or too few rows to hold any out.
    """
    from sklearn.model_selection import train_test_split

    counts = np.bincount(y, minlength=2)
    if (counts == 0).any():
        only = 1 if counts[1] else 0
        raise TrainingError(
            f"{where}: every labelled row has label {only} ({int(counts.sum())} rows); a classifier needs both classes"
        )
    if len(y) < 4:
        raise TrainingError(f"{where}: only {len(y)} labelled rows; at least 4 are needed to train and hold out")
    stratify = y if counts.min() >= 2 else None
    idx = np.arange(len(y))
    train, test = train_test_split(idx, test_size=test_size, random_state=seed, stratify=stratify)
    return np.sort(train), np.sort(test)


class SklearnLogregTrainer(Trainer):
    """Logistic regression with scikit-learn (see the module docstring)."""

    name = "sklearn-logreg"
    flavor = "sklearn"

    def train(self, data: Any, **kwargs: Any) -> TrainedModel:
        heldout_uri = kwargs["heldout_uri"]
        config = self.config
        label = self.label
        table, where = read_batches(data, config)
        y_all, missing = label.labels(table, where)
        labelled = table.filter(pa.array(~missing)) if missing.any() else table
        y = y_all[~missing]
        train_idx, test_idx = split_indices(y, config.training.test_size, config.training.seed, where)
        train_rows = labelled.take(pa.array(train_idx))
        test_rows = labelled.take(pa.array(test_idx))
        features = infer_features(train_rows, config, label.source_columns)
        params = {**DEFAULT_PARAMS, **config.training.params}
        pipeline = build_pipeline(features, config.training.params)
        x_train = model_input(train_rows, features, where)
        try:
            pipeline.fit(x_train, y[train_idx])
        except ValueError as exc:
            raise TrainingError(f"{where}: scikit-learn could not fit: {exc}") from None
        write_table_atomic(test_rows, heldout_uri, "parquet")
        proba = pipeline.predict_proba(model_input(test_rows, features, where))[:, 1]
        metrics = compute_metrics(y[test_idx], proba)
        effective = {k: v for k, v in pipeline.named_steps["model"].get_params().items() if v is not None}
        return TrainedModel(
            model=pipeline,
            trainer=self.name,
            features=features,
            metrics=metrics,
            params={**effective, **params},
            rows={"train": len(train_idx), "heldout": len(test_idx), "unlabelled": int(missing.sum())},
            reference=train_rows,
            heldout_uri=heldout_uri,
            example=x_train.head(EXAMPLE_ROWS).reset_index(drop=True),
        )

    def score(self, model: Any, data: Any, where: str = "data") -> tuple[np.ndarray, np.ndarray]:
        table, name = read_batches(data, self.config)
        where = where if where != "data" else name
        y, missing = self.label.labels(table, where)
        if missing.any():
            table = table.filter(pa.array(~missing))
            y = y[~missing]
        if len(y) == 0:
            raise InputError(where, "no labelled rows to score")
        proba = model.predict_proba(model_input(table, _features_of(model), where))[:, 1]
        return y.astype(np.int64), proba

    def pip_requirements(self) -> list[str]:
        import scipy
        import sklearn
        import skops

        return [
            f"scikit-learn=={sklearn.__version__}",
            f"numpy=={np.__version__}",
            f"pandas=={pd.__version__}",
            f"scipy=={scipy.__version__}",
            f"skops=={skops.__version__}",
        ]

    def _trusted_types(self, model: Any) -> list[str]:
        """Types skops must trust to load ``model``: only numpy/scipy/scikit-learn ones are expected."""
        import skops.io

        cached = self.options.get("_trusted")
        if cached is not None and cached[0] is model:
            return cached[1]
        untrusted = skops.io.get_untrusted_types(data=skops.io.dumps(model))
        foreign = [t for t in untrusted if not t.startswith(("numpy.", "scipy.", "sklearn."))]
        if foreign:
            raise TrainingError(f"the fitted pipeline holds unexpected types {foreign}; refusing to trust them")
        # Saving and logging the same model would serialise it once more just to ask this again.
        self.options["_trusted"] = (model, list(untrusted))
        return list(untrusted)

    def _flavor_kwargs(self, model: Any, example: pd.DataFrame) -> dict[str, Any]:
        # skops, not pickle: loading the model cannot run arbitrary code beyond the trusted types.
        return {
            "serialization_format": "skops",
            "skops_trusted_types": self._trusted_types(model),
            "signature": self._signature(model, example),
            "input_example": example,
            "pip_requirements": self.pip_requirements(),
        }

    def _signature(self, model: Any, example: pd.DataFrame) -> Any:
        from mlflow.models import infer_signature

        return infer_signature(example, model.predict(example))

    def save(self, model: Any, path: str, example: Any) -> None:
        import mlflow.sklearn

        mlflow.sklearn.save_model(model, path, **self._flavor_kwargs(model, example))

    def log_model(self, model: Any, example: Any) -> str:
        import mlflow.sklearn

        info = mlflow.sklearn.log_model(model, name="model", **self._flavor_kwargs(model, example))
        return str(info.model_uri)

    def load(self, uri: str) -> Any:
        import mlflow.sklearn

        return mlflow.sklearn.load_model(uri)
