"""The Spark trainers ``spark`` (any pyspark.ml predictor) and ``spark-logreg``: pyspark.ml Pipelines.

Pipeline stages (every preparation step is inside the model, so the logged model
takes the raw columns):

1. ``SQLTransformer``: numeric features cast to double; categorical features cast to
   string (booleans become ``"true"``/``"false"``) with null as ``"__missing__"``;
2. ``Imputer`` (median) on the numeric features (nulls and NaN);
3. ``VectorAssembler`` + ``StandardScaler`` (mean and std) on the numeric features;
4. ``StringIndexer(handleInvalid="keep")`` + ``OneHotEncoder`` on the categorical
   features: a category unseen in training falls in the extra "keep" bucket, which
   one-hot encodes to all zeros;
5. ``VectorAssembler`` of everything, then the estimator (``[training] params`` are
   its parameters, e.g. ``regParam``, ``maxIter``, ``maxDepth``):

   * ``spark``: ``[training] estimator = "module:Class"`` naming a pyspark.ml
     predictor, e.g. ``pyspark.ml.classification:GBTClassifier``,
     ``pyspark.ml.regression:GBTRegressor``, ``pyspark.ml.regression:LinearRegression``;
     by default ``LogisticRegression`` (classification) or ``LinearRegression``
     (regression). Classifiers must give probabilities (``ProbabilisticClassifier``).
   * ``spark-logreg``: always ``LogisticRegression``.

The task is ``[training] task``, else inferred from the label like the scikit-learn
trainer does (:meth:`~arlequin_core.training.labels.LabelSpec.spark_task`, one Spark
job for a numeric label column).

The SparkSession is the one passed as ``spark=``, else the active one, else a new
one from ``[spark]`` (``master``, default ``local[*]``, and ``conf``; see
:mod:`arlequin_core.spark_session`). Held-out metrics are computed on the driver from
(label, probability or prediction) pairs with the same code as the scikit-learn
trainer. The training rows are collected to the driver as Arrow to build the drift
profile.
"""

from __future__ import annotations

import inspect
import time
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from arlequin_core.errors import ConfigError, InputError
from arlequin_core.io import batch_index_columns, guess_format
from arlequin_core.training.base import EXAMPLE_ROWS, TrainedModel, Trainer
from arlequin_core.training.errors import TrainingError
from arlequin_core.training.features import FeatureSpec, infer_features
from arlequin_core.training.labels import LABEL
from arlequin_core.training.metrics import task_metrics
from arlequin_core.training.rule_spark import quote
from arlequin_spark.preflight import check_hdfs, check_master

MISSING = "__missing__"
PROBABILITY = "probability"


def _sql_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


#: The estimator of trainer ``spark`` when ``[training] estimator`` is not set, by task.
DEFAULT_ESTIMATORS = {
    "classification": "pyspark.ml.classification:LogisticRegression",
    "regression": "pyspark.ml.regression:LinearRegression",
}
LOGREG = DEFAULT_ESTIMATORS["classification"]


def build_estimator(spec: str, params: dict[str, Any], task: str | None) -> Any:
    """An unfitted pyspark.ml predictor ``spec`` with ``params``, checked for ``task`` (None: either).

    :raises ConfigError: naming ``[training] estimator`` or ``[training] params``.
    """
    from pyspark.ml import Predictor
    from pyspark.ml.classification import ProbabilisticClassifier
    from pyspark.ml.regression import Regressor

    from arlequin_core.training.classes import load_class

    cls = load_class(spec, example="pyspark.ml.classification:GBTClassifier")
    if not issubclass(cls, Predictor):
        raise ConfigError(f"[training] estimator = {spec!r} is not a pyspark.ml predictor (pyspark.ml.Predictor)")
    is_classifier, is_regressor = issubclass(cls, ProbabilisticClassifier), issubclass(cls, Regressor)
    if task == "classification" and not is_classifier:
        raise ConfigError(
            f"[training] estimator = {spec!r} is not a probabilistic classifier, but the task is classification"
        )
    if task == "regression" and not is_regressor:
        raise ConfigError(f"[training] estimator = {spec!r} is not a regressor, but the task is regression")
    if task is None and not (is_classifier or is_regressor):
        raise ConfigError(f"[training] estimator = {spec!r} is neither a probabilistic classifier nor a regressor")
    valid = set(inspect.signature(cls.__init__).parameters) - {"self"}
    unknown = sorted(set(params) - valid)
    if unknown:
        raise ConfigError(
            f"[training] params: {', '.join(unknown)} not accepted by {spec}; valid: {', '.join(sorted(valid))}"
        )
    try:
        estimator = cls(**{"featuresCol": "__features", "labelCol": LABEL, **params})
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"[training] params refused by {spec}: {exc}") from None
    if is_classifier:  # not every classifier's __init__ takes probabilityCol (GBTClassifier's does not)
        estimator.set(estimator.probabilityCol, PROBABILITY)
    return estimator


def build_pipeline(
    features: FeatureSpec, params: dict[str, Any], estimator: str = LOGREG, task: str = "classification"
) -> Any:
    """The unfitted pyspark.ml Pipeline for ``features`` (see the module docstring).

    :raises ConfigError: a bad estimator or parameter (see :func:`build_estimator`).
    """
    from pyspark.ml import Pipeline
    from pyspark.ml.feature import (
        Imputer,
        OneHotEncoder,
        SQLTransformer,
        StandardScaler,
        StringIndexer,
        VectorAssembler,
    )

    model = build_estimator(estimator, params, task)
    num = [f"__num_{i}" for i in range(len(features.numeric))]
    cat = [f"__cat_{i}" for i in range(len(features.categorical))]
    selects = ["*"]
    selects += [f"CAST({quote(c)} AS DOUBLE) AS {n}" for c, n in zip(features.numeric, num, strict=True)]
    selects += [
        f"COALESCE(CAST({quote(c)} AS STRING), {_sql_string(MISSING)}) AS {n}"
        for c, n in zip(features.categorical, cat, strict=True)
    ]
    stages: list[Any] = [SQLTransformer(statement=f"SELECT {', '.join(selects)} FROM __THIS__")]
    assembled: list[str] = []
    if num:
        imputed = [f"{n}_imputed" for n in num]
        stages += [
            Imputer(inputCols=num, outputCols=imputed, strategy="median"),
            VectorAssembler(inputCols=imputed, outputCol="__num_vec", handleInvalid="keep"),
            StandardScaler(inputCol="__num_vec", outputCol="__num_scaled", withMean=True, withStd=True),
        ]
        assembled.append("__num_scaled")
    if cat:
        indexed = [f"{n}_idx" for n in cat]
        onehot = [f"{n}_ohe" for n in cat]
        stages += [
            StringIndexer(inputCols=cat, outputCols=indexed, handleInvalid="keep"),
            OneHotEncoder(inputCols=indexed, outputCols=onehot, handleInvalid="keep"),
        ]
        assembled += onehot
    stages += [VectorAssembler(inputCols=assembled, outputCol="__features"), model]
    return Pipeline(stages=stages)


def task_of(model: Any) -> str:
    """``classification`` or ``regression``: what the fitted PipelineModel's last stage is."""
    from pyspark.ml.classification import ProbabilisticClassificationModel

    return "classification" if isinstance(model.stages[-1], ProbabilisticClassificationModel) else "regression"


class SparkTrainer(Trainer):
    """Any pyspark.ml predictor (see the module docstring)."""

    name = "spark"
    flavor = "spark"

    def estimator_spec(self, task: str) -> str:
        """The ``module:Class`` this trainer fits for ``task``."""
        return self.config.training.estimator or DEFAULT_ESTIMATORS[task]

    def check_config(self) -> None:
        """Raise ConfigError for a bad ``[training] estimator``/``params`` before any data is read."""
        self.spark  # noqa: B018 - pyspark.ml estimators are JVM objects: building one needs the session
        if self.config.training.estimator is not None:
            build_estimator(self.config.training.estimator, self.config.training.params, self.config.training.task)

    @property
    def spark(self) -> Any:
        """The SparkSession this trainer uses."""
        session = self.options.get("spark")
        if session is None:
            from pyspark.sql import SparkSession

            from arlequin_core.spark_session import DEFAULT_MASTER, spark_session

            if SparkSession.getActiveSession() is None:  # a new session: is its master there at all?
                check_master(self.config.spark.master or DEFAULT_MASTER, "[spark] master")
            session = spark_session(self.config)
            self.options["spark"] = session
        return session

    def read(self, data: Any) -> tuple[Any, str]:
        """``data`` as one Spark DataFrame, and a name for it in errors.

        :param data: a list of URIs (Parquet or CSV by extension or ``[data] format``;
            unioned by column name), a Spark DataFrame, a pandas DataFrame or an Arrow table.
        :raises InputError: unreadable input or incompatible batches.
        """
        from pyspark.errors import AnalysisException
        from pyspark.sql import DataFrame

        if isinstance(data, DataFrame):
            return data, "data"
        if isinstance(data, pa.Table):
            return self.spark.createDataFrame(data.to_pandas()), "data"
        if isinstance(data, pd.DataFrame):
            return self.spark.createDataFrame(data), "data"
        uris = [str(u) for u in data]
        if not uris:
            raise InputError("data", "no batches given")
        frames = []
        for uri in uris:
            check_hdfs(uri)  # an unreachable NameNode fails in a second, naming it
            try:
                if guess_format(uri, self.config.data.format) == "csv":
                    frames.append(self.spark.read.option("header", True).option("inferSchema", True).csv(uri))
                else:
                    frame = self.spark.read.parquet(uri)
                    # pandas' index columns are not data (arlequin_core.io.index_columns).
                    roles = self.config.data.roles()
                    index = [c for c in batch_index_columns(uri, self.config.data.format, roles) if c in frame.columns]
                    frames.append(frame.drop(*index) if index else frame)
            except AnalysisException as exc:
                raise InputError(uri, f"Spark cannot read it: {str(exc).splitlines()[0]}") from None
        where = uris[0] if len(uris) == 1 else f"{uris[0]} (+{len(uris) - 1} more)"
        df = frames[0]
        try:
            for other in frames[1:]:
                df = df.unionByName(other, allowMissingColumns=True)
        except AnalysisException as exc:
            raise InputError(where, f"batches have incompatible columns: {str(exc).splitlines()[0]}") from None
        return df, where

    def train(self, data: Any, **kwargs: Any) -> TrainedModel:
        from pyspark import StorageLevel
        from pyspark.sql import functions as F

        heldout_uri = kwargs["heldout_uri"]
        config = self.config
        label = self.label
        self.check_config()
        df, where = self.read(data)
        task = label.spark_task(df, config.training.task, where)
        spec = self.estimator_spec(task)
        build_estimator(spec, config.training.params, task)
        with_label = df.withColumn(LABEL, label.spark_target(df, task, where))
        labelled = with_label.filter(F.col(LABEL).isNotNull()).persist(StorageLevel.MEMORY_AND_DISK)
        try:
            total = df.count()
            if task == "classification":
                counts = {int(r[0]): int(r[1]) for r in labelled.groupBy(LABEL).count().collect()}
                n = sum(counts.values())
                if len(counts) < 2:
                    only = next(iter(counts), 0)
                    raise TrainingError(
                        f"{where}: every labelled row has label {only} ({n} rows); a classifier needs both classes"
                    )
            else:
                n = labelled.count()
            if n < 4:
                raise TrainingError(f"{where}: only {n} labelled rows; at least 4 are needed to train and hold out")
            t = config.training.test_size
            train_df, test_df = labelled.randomSplit([1.0 - t, t], seed=config.training.seed)
            train_df = train_df.persist(StorageLevel.MEMORY_AND_DISK)
            # The drift profile needs the training rows on the driver anyway; the kinds come from them too.
            reference = train_df.drop(LABEL).toArrow()
            features = infer_features(reference, config, label.source_columns)
            params = dict(config.training.params)
            pipeline = build_pipeline(features, params, spec, task)
            started = time.perf_counter()
            try:
                model = pipeline.fit(train_df)
            except Exception as exc:
                raise TrainingError(f"{where}: Spark could not fit {spec}: {str(exc).splitlines()[0]}") from None
            fit_seconds = time.perf_counter() - started
            test_df.drop(LABEL).write.mode("overwrite").parquet(heldout_uri)
            y, scores = self._score_frame(model, test_df)
            if len(y) == 0:
                raise TrainingError(f"{where}: the held-out split is empty; lower [training] test_size or add rows")
            metrics = task_metrics(task, y, scores)
            example = train_df.select(*[quote(c) for c in features.columns]).limit(EXAMPLE_ROWS).toPandas()
            last = model.stages[-1]
            effective = {p.name: v for p, v in last.extractParamMap().items() if isinstance(v, (int, float, str, bool))}
            rows = {"train": reference.num_rows, "heldout": len(y), "unlabelled": total - n}
            train_df.unpersist()
        finally:
            labelled.unpersist()
        return TrainedModel(
            model=model,
            trainer=self.name,
            features=features,
            metrics=metrics,
            params={
                **effective,
                **params,
                "estimator": spec,
                "task": task,
                "spark_master": self.spark.sparkContext.master,
            },
            rows=rows,
            reference=reference,
            heldout_uri=heldout_uri,
            example=example,
            extra={"fit_seconds": fit_seconds},
            task=task,
        )

    def _score_frame(self, model: Any, labelled: Any) -> tuple[np.ndarray, np.ndarray]:
        from pyspark.ml.functions import vector_to_array
        from pyspark.sql import functions as F

        if task_of(model) == "classification":
            y = F.col(LABEL).cast("int").alias("y")
            score = vector_to_array(F.col(PROBABILITY))[1].alias("p")
        else:
            y, score = F.col(LABEL).cast("double").alias("y"), F.col("prediction").cast("double").alias("p")
        table = model.transform(labelled).select(y, score).toArrow()
        ys = table.column("y").to_numpy()
        ys = ys.astype(np.int64) if task_of(model) == "classification" else ys.astype(np.float64)
        return ys, table.column("p").to_numpy().astype(np.float64)

    def score(self, model: Any, data: Any, where: str = "data") -> tuple[np.ndarray, np.ndarray]:
        from pyspark.errors import AnalysisException
        from pyspark.sql import functions as F

        df, name = self.read(data)
        where = where if where != "data" else name
        target = self.label.spark_target(df, task_of(model), where)
        labelled = df.withColumn(LABEL, target).filter(F.col(LABEL).isNotNull())
        try:
            y, p = self._score_frame(model, labelled)
        except AnalysisException as exc:
            raise InputError(where, f"the model cannot read this data: {str(exc).splitlines()[0]}") from None
        if len(y) == 0:
            raise InputError(where, "no labelled rows to score")
        return y, p

    def predict_proba(self, model: Any, table: Any, where: str = "data") -> np.ndarray:
        """Positive-class probabilities of every row of ``table`` (see :meth:`Trainer.predict_proba`)."""
        from pyspark.errors import AnalysisException
        from pyspark.ml.functions import vector_to_array
        from pyspark.sql import functions as F

        df = self.spark.createDataFrame(table.to_pandas())
        try:
            out = model.transform(df).select(vector_to_array(F.col(PROBABILITY))[1].alias("p")).toArrow()
        except AnalysisException as exc:
            raise InputError(where, f"the model cannot read this data: {str(exc).splitlines()[0]}") from None
        return out.column("p").to_numpy().astype(np.float64)

    def pip_requirements(self, model: Any = None) -> list[str]:
        import pyspark

        return [f"pyspark=={pyspark.__version__}", f"pandas=={pd.__version__}", f"numpy=={np.__version__}"]

    def _signature(self, model: Any, example: pd.DataFrame) -> Any:
        from mlflow.models import infer_signature

        predicted = model.transform(self.spark.createDataFrame(example)).select("prediction").toPandas()
        return infer_signature(example, predicted["prediction"])

    def save(self, model: Any, path: str, example: Any) -> None:
        import mlflow.spark

        mlflow.spark.save_model(
            model,
            path,
            signature=self._signature(model, example),
            input_example=example,
            pip_requirements=self.pip_requirements(),
        )

    def log_model(self, model: Any, example: Any) -> str:
        import mlflow.spark

        info = mlflow.spark.log_model(
            model,
            "model",
            signature=self._signature(model, example),
            input_example=example,
            pip_requirements=self.pip_requirements(),
        )
        return str(info.model_uri)

    def load(self, uri: str) -> Any:
        import mlflow.spark

        self.spark  # noqa: B018 - mlflow.spark loads into the active session: make sure there is ours
        return mlflow.spark.load_model(uri)


class SparkLogregTrainer(SparkTrainer):
    """Logistic regression with pyspark.ml (classification only)."""

    name = "spark-logreg"

    def estimator_spec(self, task: str) -> str:
        if task != "classification":
            raise ConfigError(
                "trainer spark-logreg is logistic regression (classification) but the task is regression; "
                "set [training] trainer = 'spark' (optionally with [training] estimator)"
            )
        return LOGREG

    def check_config(self) -> None:
        if self.config.training.estimator is not None:
            raise ConfigError(
                f"[training] estimator = {self.config.training.estimator!r} needs [training] trainer = 'spark' "
                "(trainer spark-logreg is always LogisticRegression)"
            )
        self.spark  # noqa: B018 - building the estimator needs the session
        build_estimator(LOGREG, self.config.training.params, "classification")
