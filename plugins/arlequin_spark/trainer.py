"""The trainer ``spark-logreg``: a pyspark.ml Pipeline, for data that lives in a cluster.

Pipeline stages (every preparation step is inside the model, so the logged model
takes the raw columns):

1. ``SQLTransformer``: numeric features cast to double; categorical features cast to
   string (booleans become ``"true"``/``"false"``) with null as ``"__missing__"``;
2. ``Imputer`` (median) on the numeric features (nulls and NaN);
3. ``VectorAssembler`` + ``StandardScaler`` (mean and std) on the numeric features;
4. ``StringIndexer(handleInvalid="keep")`` + ``OneHotEncoder`` on the categorical
   features: a category unseen in training falls in the extra "keep" bucket, which
   one-hot encodes to all zeros;
5. ``VectorAssembler`` of everything, then ``LogisticRegression`` (``[training] params``
   are its parameters, e.g. ``regParam``, ``maxIter``).

The SparkSession is the one passed as ``spark=``, else the active one, else a new
one from ``[spark]`` (``master``, default ``local[*]``, and ``conf``; see
:mod:`arlequin_core.spark_session`). Held-out metrics are computed on the driver from
(label, probability) pairs with the same code as the scikit-learn trainer. The
training rows are collected to the driver as Arrow to build the drift profile.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from arlequin_core.errors import ConfigError, InputError
from arlequin_core.io import guess_format
from arlequin_core.training.base import EXAMPLE_ROWS, TrainedModel, Trainer
from arlequin_core.training.errors import TrainingError
from arlequin_core.training.features import FeatureSpec, infer_features
from arlequin_core.training.labels import LABEL
from arlequin_core.training.metrics import compute_metrics
from arlequin_core.training.rule_spark import quote
from arlequin_spark.preflight import check_hdfs, check_master

MISSING = "__missing__"
PROBABILITY = "probability"


def _sql_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def build_pipeline(features: FeatureSpec, params: dict[str, Any]) -> Any:
    """The unfitted pyspark.ml Pipeline for ``features`` (see the module docstring).

    :raises ConfigError: ``params`` has a key Spark's LogisticRegression does not take.
    """
    from pyspark.ml import Pipeline
    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.feature import (
        Imputer,
        OneHotEncoder,
        SQLTransformer,
        StandardScaler,
        StringIndexer,
        VectorAssembler,
    )

    valid = set(inspect.signature(LogisticRegression.__init__).parameters) - {"self"}
    unknown = sorted(set(params) - valid)
    if unknown:
        raise ConfigError(
            f"[training] params: {', '.join(unknown)} not accepted by spark-logreg (pyspark LogisticRegression); "
            f"valid: {', '.join(sorted(valid))}"
        )
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
    stages += [
        VectorAssembler(inputCols=assembled, outputCol="__features"),
        LogisticRegression(**{"featuresCol": "__features", "labelCol": LABEL, "probabilityCol": PROBABILITY, **params}),
    ]
    return Pipeline(stages=stages)


class SparkLogregTrainer(Trainer):
    """Logistic regression with pyspark.ml (see the module docstring)."""

    name = "spark-logreg"
    flavor = "spark"

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
                    frames.append(self.spark.read.parquet(uri))
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
        df, where = self.read(data)
        with_label = df.withColumn(LABEL, label.spark_label(df, where))
        labelled = with_label.filter(F.col(LABEL).isNotNull()).persist(StorageLevel.MEMORY_AND_DISK)
        try:
            counts = {int(r[0]): int(r[1]) for r in labelled.groupBy(LABEL).count().collect()}
            total = df.count()
            n = sum(counts.values())
            if len(counts) < 2:
                only = next(iter(counts), 0)
                raise TrainingError(
                    f"{where}: every labelled row has label {only} ({n} rows); a classifier needs both classes"
                )
            if n < 4:
                raise TrainingError(f"{where}: only {n} labelled rows; at least 4 are needed to train and hold out")
            t = config.training.test_size
            train_df, test_df = labelled.randomSplit([1.0 - t, t], seed=config.training.seed)
            train_df = train_df.persist(StorageLevel.MEMORY_AND_DISK)
            # The drift profile needs the training rows on the driver anyway; the kinds come from them too.
            reference = train_df.drop(LABEL).toArrow()
            features = infer_features(reference, config, label.source_columns)
            params = dict(config.training.params)
            pipeline = build_pipeline(features, params)
            try:
                model = pipeline.fit(train_df)
            except Exception as exc:
                raise TrainingError(f"{where}: Spark could not fit: {str(exc).splitlines()[0]}") from None
            test_df.drop(LABEL).write.mode("overwrite").parquet(heldout_uri)
            y, proba = self._score_frame(model, test_df)
            if len(y) == 0:
                raise TrainingError(f"{where}: the held-out split is empty; lower [training] test_size or add rows")
            metrics = compute_metrics(y, proba)
            example = train_df.select(*[quote(c) for c in features.columns]).limit(EXAMPLE_ROWS).toPandas()
            lr = model.stages[-1]
            effective = {p.name: v for p, v in lr.extractParamMap().items() if isinstance(v, (int, float, str, bool))}
            rows = {"train": reference.num_rows, "heldout": len(y), "unlabelled": total - n}
            train_df.unpersist()
        finally:
            labelled.unpersist()
        return TrainedModel(
            model=model,
            trainer=self.name,
            features=features,
            metrics=metrics,
            params={**effective, **params, "spark_master": self.spark.sparkContext.master},
            rows=rows,
            reference=reference,
            heldout_uri=heldout_uri,
            example=example,
        )

    def _score_frame(self, model: Any, labelled: Any) -> tuple[np.ndarray, np.ndarray]:
        from pyspark.ml.functions import vector_to_array
        from pyspark.sql import functions as F

        out = model.transform(labelled).select(
            F.col(LABEL).cast("int").alias("y"), vector_to_array(F.col(PROBABILITY))[1].alias("p")
        )
        table = out.toArrow()
        return table.column("y").to_numpy().astype(np.int64), table.column("p").to_numpy().astype(np.float64)

    def score(self, model: Any, data: Any, where: str = "data") -> tuple[np.ndarray, np.ndarray]:
        from pyspark.errors import AnalysisException
        from pyspark.sql import functions as F

        df, name = self.read(data)
        where = where if where != "data" else name
        labelled = df.withColumn(LABEL, self.label.spark_label(df, where)).filter(F.col(LABEL).isNotNull())
        try:
            y, p = self._score_frame(model, labelled)
        except AnalysisException as exc:
            raise InputError(where, f"the model cannot read this data: {str(exc).splitlines()[0]}") from None
        if len(y) == 0:
            raise InputError(where, "no labelled rows to score")
        return y, p

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
