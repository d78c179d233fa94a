"""The scikit-learn trainers: ``sklearn`` (any estimator) and ``sklearn-logreg``, in-process.

Model: a :class:`~sklearn.pipeline.Pipeline` of a ``ColumnTransformer``
(numeric: median imputation then standard scaling; categorical: missing values to
``"__missing__"`` then one-hot encoding with ``handle_unknown="ignore"``, so a
category unseen in training is all zeros rather than an error) and the estimator:

* ``sklearn``: ``[training] estimator`` (``"module:Class"``, see
  :mod:`arlequin_sklearn.estimator`), by default ``LogisticRegression(max_iter=1000)``
  for classification and ``Ridge`` for regression; ``[training] params`` are its
  keyword arguments. One-hot columns stay sparse for estimators that take sparse
  input and are dense (float32) for those that do not (e.g. HistGradientBoosting).
* ``sklearn-logreg``: always ``LogisticRegression`` (the embedded default).

The task (``[training] task``, else inferred from the label:
:meth:`~arlequin_core.training.labels.LabelSpec.infer_task`) decides the split
(stratified by the label for classification), what ``score`` returns
(positive-class probabilities, or predictions) and the metrics.

Input of the model (its MLflow signature): numeric features as doubles, categorical
features as strings (booleans as ``"true"``/``"false"``, like Spark's cast). Logged
with ``mlflow.sklearn`` (the pipeline is a scikit-learn object whatever the
estimator) in the skops format, with the estimator's own distribution pinned in the
pip requirements.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from arlequin_core.config import ArlequinConfig
from arlequin_core.errors import ConfigError, InputError
from arlequin_core.io import read_table, write_table_atomic
from arlequin_core.progress import phase
from arlequin_core.training.base import EXAMPLE_ROWS, TrainedModel, Trainer
from arlequin_core.training.data_errors import is_data_error
from arlequin_core.training.errors import TrainingError
from arlequin_core.training.features import FeatureSpec, infer_features
from arlequin_core.training.metrics import task_metrics
from arlequin_sklearn.estimator import DEFAULT_ESTIMATORS, accepts_sparse, build_estimator, distribution_of

MISSING = "__missing__"
LOGREG = DEFAULT_ESTIMATORS["classification"]
#: Standard-library types an estimator may hold that skops does not trust by default (LightGBM keeps one).
_SAFE_STDLIB_TYPES = frozenset({"collections.OrderedDict"})


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
    tables = [read_table(uri, config.data.format, keep_index=config.data.roles()) for uri in uris]
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


def task_of(model: Any) -> str:
    """``classification`` or ``regression``: what the fitted pipeline's estimator is."""
    from sklearn.base import is_regressor

    return "regression" if is_regressor(model.named_steps["model"]) else "classification"


def build_pipeline(
    features: FeatureSpec,
    params: dict[str, Any],
    estimator: str = LOGREG,
    task: str = "classification",
) -> Any:
    """The unfitted scikit-learn pipeline for ``features``, ending in ``estimator`` built with ``params``.

    :raises ConfigError: a bad estimator or parameter (see :func:`arlequin_sklearn.estimator.build_estimator`).
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    model = build_estimator(estimator, params, task)
    sparse = accepts_sparse(model)
    numeric = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
    onehot = (
        OneHotEncoder(handle_unknown="ignore")
        if sparse
        else OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float32)
    )
    categorical = Pipeline(
        [
            # NaN and None both mean missing (pandas gives either, depending on the source).
            ("impute_nan", SimpleImputer(strategy="constant", fill_value=MISSING)),
            ("impute_none", SimpleImputer(missing_values=None, strategy="constant", fill_value=MISSING)),
            ("onehot", onehot),
        ]
    )
    transformers = []
    if features.numeric:
        transformers.append(("numeric", numeric, list(features.numeric)))
    if features.categorical:
        transformers.append(("categorical", categorical, list(features.categorical)))
    columns = ColumnTransformer(transformers, remainder="drop", **({} if sparse else {"sparse_threshold": 0.0}))
    return Pipeline([("features", columns), ("model", model)])


def split_indices(
    y: np.ndarray, test_size: float, seed: int, where: str, task: str = "classification"
) -> tuple[np.ndarray, np.ndarray]:
    """Train and held-out row indices; stratified by the label when each class has 2+ rows (classification).

    :raises TrainingError: fewer than two classes (classification), or too few rows to hold any out.
    """
    from sklearn.model_selection import train_test_split

    stratify = None
    if task == "classification":
        counts = np.bincount(y.astype(np.int64), minlength=2)
        if (counts == 0).any():
            only = 1 if counts[1] else 0
            raise TrainingError(
                f"{where}: every labelled row has label {only} ({int(counts.sum())} rows); "
                "a classifier needs both classes"
            )
        stratify = y if counts.min() >= 2 else None
    if len(y) < 4:
        raise TrainingError(f"{where}: only {len(y)} labelled rows; at least 4 are needed to train and hold out")
    idx = np.arange(len(y))
    train, test = train_test_split(idx, test_size=test_size, random_state=seed, stratify=stratify)
    return np.sort(train), np.sort(test)


def _loggable(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if isinstance(v, (int, float, str, bool))}


class SklearnTrainer(Trainer):
    """Any scikit-learn-compatible estimator (see the module docstring)."""

    name = "sklearn"
    flavor = "sklearn"

    def estimator_spec(self, task: str) -> str:
        """The ``module:Class`` this trainer fits for ``task``."""
        return self.config.training.estimator or DEFAULT_ESTIMATORS[task]

    def check_config(self) -> None:
        """Raise ConfigError for a bad ``[training] estimator``/``params`` before any data is read."""
        if self.config.training.estimator is not None:
            build_estimator(self.config.training.estimator, self.config.training.params, self.config.training.task)

    @staticmethod
    def predict_scores(model: Any, x: pd.DataFrame, task: str) -> np.ndarray:
        """Positive-class probabilities (classification) or predictions (regression), shape ``(n,)``."""
        if task == "regression":
            return np.asarray(model.predict(x), dtype=np.float64).ravel()
        return np.asarray(model.predict_proba(x)[:, 1], dtype=np.float64)

    def train(self, data: Any, **kwargs: Any) -> TrainedModel:
        heldout_uri = kwargs["heldout_uri"]
        config = self.config
        label = self.label
        self.check_config()
        with phase("reading the training data"):
            table, where = read_batches(data, config)
        task = label.task(table, config.training.task, where)
        spec = self.estimator_spec(task)
        build_estimator(spec, config.training.params, task)  # the task fits the estimator, before the split
        y_all, missing = label.targets(table, task, where)
        labelled = table.filter(pa.array(~missing)) if missing.any() else table
        y = y_all[~missing]
        train_idx, test_idx = split_indices(y, config.training.test_size, config.training.seed, where, task)
        train_rows = labelled.take(pa.array(train_idx))
        test_rows = labelled.take(pa.array(test_idx))
        features = infer_features(train_rows, config, label.source_columns)
        pipeline = build_pipeline(features, config.training.params, spec, task)
        x_train = model_input(train_rows, features, where)
        started = time.perf_counter()
        try:
            with phase(f"fitting {spec.rpartition(':')[2] or spec} on {len(train_idx):,} rows"):
                pipeline.fit(x_train, y[train_idx])
        except ValueError as exc:
            if is_data_error(exc):
                raise  # the data's fault (e.g. infinite values): the flow names the batch and columns
            raise TrainingError(f"{where}: {spec} could not fit: {exc}") from None
        fit_seconds = time.perf_counter() - started
        with phase(f"scoring {len(test_idx):,} held-out rows"):
            write_table_atomic(test_rows, heldout_uri, "parquet")
            scores = self.predict_scores(pipeline, model_input(test_rows, features, where), task)
        metrics = task_metrics(task, y[test_idx], scores)
        effective = _loggable(pipeline.named_steps["model"].get_params())
        return TrainedModel(
            model=pipeline,
            trainer=self.name,
            features=features,
            metrics=metrics,
            params={**effective, **config.training.params, "estimator": spec, "task": task},
            rows={"train": len(train_idx), "heldout": len(test_idx), "unlabelled": int(missing.sum())},
            reference=train_rows,
            heldout_uri=heldout_uri,
            example=x_train.head(EXAMPLE_ROWS).reset_index(drop=True),
            extra={"fit_seconds": fit_seconds},
            task=task,
        )

    def score(self, model: Any, data: Any, where: str = "data") -> tuple[np.ndarray, np.ndarray]:
        table, name = read_batches(data, self.config)
        where = where if where != "data" else name
        task = task_of(model)
        y, missing = self.label.targets(table, task, where)
        if missing.any():
            table = table.filter(pa.array(~missing))
            y = y[~missing]
        if len(y) == 0:
            raise InputError(where, "no labelled rows to score")
        scores = self.predict_scores(model, model_input(table, _features_of(model), where), task)
        return (y.astype(np.float64) if task == "regression" else y.astype(np.int64)), scores

    def predict_proba(self, model: Any, table: Any, where: str = "data") -> np.ndarray:
        """Positive-class probabilities of every row of ``table`` (see :meth:`Trainer.predict_proba`)."""
        return model.predict_proba(model_input(table, _features_of(model), where))[:, 1]

    def pip_requirements(self, model: Any = None) -> list[str]:
        """scikit-learn, numpy, pandas, scipy, skops; and the estimator's own distribution (e.g. lightgbm)."""
        import scipy
        import sklearn
        import skops

        requirements = [
            f"scikit-learn=={sklearn.__version__}",
            f"numpy=={np.__version__}",
            f"pandas=={pd.__version__}",
            f"scipy=={scipy.__version__}",
            f"skops=={skops.__version__}",
        ]
        if model is not None:
            estimator = model.named_steps["model"]
            dist = distribution_of(type(estimator).__module__ + ":")
            if dist is not None and dist[0] not in ("scikit-learn", "numpy", "scipy", "pandas"):
                requirements.append(f"{dist[0]}=={dist[1]}")
        return requirements

    def _trusted_types(self, model: Any) -> list[str]:
        """Types skops must trust to load ``model``: numpy/scipy/scikit-learn ones, and the estimator's package's."""
        import skops.io

        cached = self.options.get("_trusted")
        if cached is not None and cached[0] is model:
            return cached[1]
        untrusted = skops.io.get_untrusted_types(data=skops.io.dumps(model))
        package = type(model.named_steps["model"]).__module__.split(".")[0]
        allowed = tuple(f"{name}." for name in dict.fromkeys(("numpy", "scipy", "sklearn", package)))
        foreign = [t for t in untrusted if not t.startswith(allowed) and t not in _SAFE_STDLIB_TYPES]
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
            "pip_requirements": self.pip_requirements(model),
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


class SklearnLogregTrainer(SklearnTrainer):
    """Logistic regression with scikit-learn: the embedded default (classification only)."""

    name = "sklearn-logreg"

    def estimator_spec(self, task: str) -> str:
        if task != "classification":
            raise ConfigError(
                "trainer sklearn-logreg is logistic regression (classification) but the task is regression; "
                "set [training] trainer = 'sklearn' (optionally with [training] estimator)"
            )
        return LOGREG

    def check_config(self) -> None:
        if self.config.training.estimator is not None:
            raise ConfigError(
                f"[training] estimator = {self.config.training.estimator!r} needs [training] trainer = 'sklearn' "
                "(trainer sklearn-logreg is always LogisticRegression)"
            )
        build_estimator(LOGREG, self.config.training.params, "classification")
