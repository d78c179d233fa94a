"""The ``spark-logreg`` trainer in local mode, on the one SparkSession of the test run."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pyarrow.parquet as pq
import pytest
from mlflow import MlflowClient
from training_helpers import labelled_frame

from arlequin_core.drift.profile import Profile
from arlequin_core.training.flow import retrain
from arlequin_core.training.metrics import compute_metrics
from arlequin_core.training.profiles import PROFILE_ARTIFACT
from arlequin_core.training.tracking import Tracking
from arlequin_sklearn.trainer import SklearnLogregTrainer
from arlequin_spark.trainer import SparkLogregTrainer

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def test_spark_model_is_logged_registered_and_loads_through_mlflow(spark, make_app, write_batch, isolated) -> None:
    app = make_app(training={"trainer": "spark-logreg", "params": {"regParam": 0.01}})
    trainer = SparkLogregTrainer(app.config, spark=spark)
    uris = [write_batch("a", n=1500, seed=1), write_batch("b", n=1500, seed=2)]
    result = retrain(app, uris, trainer=trainer)
    assert (result.version, result.promoted) == ("1", True)
    assert result.metrics["roc_auc"] > 0.8

    tracking = Tracking.from_config(app.config)
    tracking.activate()
    client = MlflowClient(tracking.uri)
    run = client.get_run(result.run_id)
    assert run.data.params["trainer"] == "spark-logreg"
    assert run.data.params["model.regParam"] == "0.01"
    assert run.data.params["model.spark_master"] == "local[2]"
    assert client.get_model_version("arlequin-model", "1").tags["arlequin.trainer"] == "spark-logreg"
    path = client.download_artifacts(result.run_id, PROFILE_ARTIFACT, str(isolated / "dl"))
    assert set(Profile.load(path).columns) == {"x1", "x2", "c", "flag"}

    frame = labelled_frame(n=400, seed=7)
    native = mlflow.spark.load_model("models:/arlequin-model@champion")
    scored = native.transform(spark.createDataFrame(frame)).select("y", "prediction").toPandas()
    assert (scored["y"] == scored["prediction"]).mean() > 0.7

    pyfunc = mlflow.pyfunc.load_model("models:/arlequin-model@champion")
    features = frame[["x1", "x2", "c", "flag"]]
    predicted = np.asarray(pyfunc.predict(features)).ravel()
    np.testing.assert_array_equal(predicted, scored["prediction"].to_numpy())


def test_spark_trainer_holds_out_and_scores_like_the_metrics_say(spark, make_app, write_batch, isolated) -> None:
    app = make_app()
    trainer = SparkLogregTrainer(app.config, spark=spark)
    heldout = str(isolated / "heldout")
    trained = trainer.train([write_batch("a", n=2000)], heldout_uri=heldout)
    assert trained.rows["train"] + trained.rows["heldout"] == 2000
    # Spark wrote a directory of part files: the held-out rows, all original columns.
    held = pq.read_table(heldout)
    assert held.num_rows == trained.rows["heldout"]
    assert set(held.column_names) == {"id", "x1", "x2", "c", "flag", "y"}
    assert set(held.column("id").to_pylist()).isdisjoint(trained.reference.column("id").to_pylist())
    y, p = trainer.score(trained.model, [heldout])
    assert compute_metrics(y, p) == pytest.approx(trained.metrics)


def test_label_rule_labels_the_same_rows_on_both_engines(spark, make_app, isolated: Path) -> None:
    frame = labelled_frame(n=1500, seed=4).drop(columns=["y"])
    path = isolated / "unlabelled.parquet"
    frame.to_parquet(path)
    app = make_app(data={"label": None}, training={"label_rule": "x2 / x1 > 0.5 or c in ['a', 'b']"})
    spark_run = SparkLogregTrainer(app.config, spark=spark).train([str(path)], heldout_uri=str(isolated / "h1"))
    sk_run = SklearnLogregTrainer(app.config).train([str(path)], heldout_uri=str(isolated / "h2.parquet"))
    assert spark_run.rows["unlabelled"] == sk_run.rows["unlabelled"] > 0
    assert spark_run.features == sk_run.features
    assert "x2" not in spark_run.features.numeric


def test_sklearn_champion_is_validated_against_a_spark_challenger(spark, make_app, write_batch) -> None:
    app = make_app()
    first = retrain(app, [write_batch("old", n=2000, seed=1, concept="x1")])
    assert first.promoted
    spark_app = make_app(training={"trainer": "spark-logreg"})
    second = retrain(
        spark_app,
        [write_batch("new", n=2000, seed=2, concept="x2")],
        trainer=SparkLogregTrainer(spark_app.config, spark=spark),
    )
    assert second.validation["champion_version"] == "1"
    assert second.validation["champion"] < second.validation["challenger"]
    assert second.promoted


def test_csv_batches_are_read_by_spark(spark, make_app, isolated: Path) -> None:
    path = isolated / "batch.csv"
    labelled_frame(n=800).to_csv(path, index=False)
    app = make_app()
    trained = SparkLogregTrainer(app.config, spark=spark).train([str(path)], heldout_uri=str(isolated / "h"))
    assert trained.metrics["roc_auc"] > 0.8


@pytest.mark.parametrize(
    ("spec", "params"),
    [
        ("pyspark.ml.classification:GBTClassifier", {"maxIter": 10, "maxDepth": 3}),
        ("pyspark.ml.regression:LinearRegression", {"regParam": 0.01}),
        ("pyspark.ml.regression:GBTRegressor", {"maxIter": 10, "maxDepth": 3}),
    ],
)
def test_spark_estimators_of_both_tasks_fit_save_load_and_score_alike(
    spark, make_app, isolated: Path, spec: str, params: dict
) -> None:
    from test_estimators import regression_frame

    from arlequin_core.training.metrics import task_metrics
    from arlequin_spark.trainer import SparkTrainer

    regression = ".regression:" in spec
    path = isolated / "batch.parquet"
    (regression_frame(1500, seed=6) if regression else labelled_frame(n=1500, seed=6)).to_parquet(path)
    app = make_app(
        data={"label": "amount" if regression else "y"},
        training={"trainer": "spark", "estimator": spec, "params": params},
    )
    trainer = SparkTrainer(app.config, spark=spark)
    heldout = str(isolated / "heldout")
    trained = trainer.train([str(path)], heldout_uri=heldout)
    assert trained.task == ("regression" if regression else "classification")
    assert trained.params["estimator"] == spec
    assert trained.model.stages[-1].uid.startswith(spec.rpartition(":")[2] + "_")
    if regression:
        assert trained.metrics["r2"] > 0.6
    else:
        assert trained.metrics["roc_auc"] > 0.8
    trainer.save(trained.model, str(isolated / "model"), trained.example)
    y, scores = trainer.score(trainer.load(str(isolated / "model")), [heldout])
    assert task_metrics(trained.task, y, scores) == pytest.approx(trained.metrics)


def test_spark_estimator_errors_name_the_key(spark, make_app, write_batch, isolated: Path) -> None:
    from arlequin_core.errors import ConfigError
    from arlequin_spark.trainer import SparkTrainer

    uri = write_batch("b", n=100)
    cases = [
        ({"estimator": "pyspark.ml.feature:StandardScaler"}, "is not a pyspark.ml predictor"),
        ({"estimator": "pyspark.ml.regression:GBTRegressor"}, "is not a probabilistic classifier, but the task is"),
        (
            {"estimator": "pyspark.ml.classification:GBTClassifier", "params": {"depth": 3}},
            r"\[training\] params: depth not accepted by pyspark.ml.classification:GBTClassifier; valid: ",
        ),
    ]
    for training, message in cases:
        app = make_app(training={"trainer": "spark", **training})
        with pytest.raises(ConfigError, match=message):
            SparkTrainer(app.config, spark=spark).train([uri], heldout_uri=str(isolated / "h"))
