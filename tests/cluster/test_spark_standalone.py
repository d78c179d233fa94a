"""``spark-logreg`` on a real Spark standalone cluster (Master + one Worker from pyspark's
``spark-class``), reading its data from the run's real HDFS.

One SparkContext per process: the cluster-side steps run in subprocesses (``arlequin
train``, and a scoring script), the local-mode comparison in this process on the
run's local session.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from localcluster import free_port

from arlequin_core.io import write_table_atomic

pytestmark = [pytest.mark.spark, pytest.mark.slow]

ARLEQUIN = str(Path(sys.executable).parent / "arlequin")
#: A guard against hanging, not a timing assertion.
HANG_GUARD = 600


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    c = rng.choice(["a", "b", "c"], size=n)
    logit = 1.5 * x1 - x2 + (c == "a") * 1.0
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"x1": x1, "x2": x2, "c": c, "y": y})


def _config(path: Path, master: str) -> Path:
    path.write_text(
        textwrap.dedent(
            f"""
            [arlequin]
            home = "{path.parent / ".arlequin"}"
            [mlflow]
            tracking_uri = "sqlite:///{path.parent / "mlflow.db"}"
            [data]
            label = "y"
            [spark]
            master = "{master}"
            [training]
            trainer = "spark-logreg"
            # fewer iterations than Spark's 100: one worker core on a shared 2-core machine
            params = {{ maxIter = 20 }}
            """
        )
    )
    return path


def _run(args: list[str], config: Path, timeout: float = HANG_GUARD) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "ARLEQUIN_CONFIG": str(config),
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
    }
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env)


SCORE_ON_CLUSTER = """
import sys, mlflow
from pyspark.sql import SparkSession
master, model_uri, data, out = sys.argv[1:5]
spark = SparkSession.builder.master(master).appName("arlequin-score").getOrCreate()
model = mlflow.spark.load_model(model_uri)
scored = model.transform(spark.read.parquet(data)).select("x1", "prediction").toPandas()
scored.to_parquet(out)
spark.stop()
"""


def test_spark_logreg_trains_on_the_cluster_from_hdfs_and_scores_like_local_mode(
    spark, spark_standalone, hdfs_dir: str, isolated: Path
) -> None:
    write_table_atomic(pa.Table.from_pandas(_frame(3000, seed=1), preserve_index=False), f"{hdfs_dir}/train.parquet")
    score_uri = f"{hdfs_dir}/score.parquet"
    write_table_atomic(pa.Table.from_pandas(_frame(500, seed=2), preserve_index=False), score_uri)
    config = _config(isolated / "arlequin.toml", spark_standalone.master)

    trained = _run([ARLEQUIN, "train", "--data", f"{hdfs_dir}/train.parquet", "--json"], config)
    assert trained.returncode == 0, trained.stderr[-3000:]
    result = json.loads(trained.stdout)
    assert result["version"] == "1" and result["promoted"] is True
    assert result["metrics"]["roc_auc"] > 0.75

    # It ran on the cluster: the master lists the finished application, MLflow the master URL.
    apps = spark_standalone.state()["completedapps"]
    assert any(app["name"] == "arlequin" for app in apps), apps
    import mlflow
    from mlflow import MlflowClient

    tracking = f"sqlite:///{isolated / 'mlflow.db'}"
    run = MlflowClient(tracking).get_run(result["run_id"])
    assert run.data.params["model.spark_master"] == spark_standalone.master

    model_uri = f"runs:/{result['run_id']}/model"
    on_cluster = isolated / "cluster-predictions.parquet"
    script = isolated / "score.py"
    script.write_text(SCORE_ON_CLUSTER)
    scored = subprocess.run(
        [sys.executable, str(script), spark_standalone.master, model_uri, score_uri, str(on_cluster)],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
        env={**os.environ, "MLFLOW_TRACKING_URI": tracking, "SPARK_LOCAL_IP": "127.0.0.1", "ARLEQUIN_CONFIG": ""},
    )
    assert scored.returncode == 0, scored.stderr[-3000:]

    # The same model, loaded back from MLflow into local mode, predicts the same labels.
    mlflow.set_tracking_uri(tracking)
    try:
        local_model = mlflow.spark.load_model(model_uri)
        local = local_model.transform(spark.read.parquet(score_uri)).select("x1", "prediction").toPandas()
    finally:
        mlflow.set_tracking_uri(None)
    cluster = pd.read_parquet(on_cluster)
    assert len(cluster) == len(local) == 500
    merged = cluster.merge(local, on="x1", suffixes=("_cluster", "_local"))
    assert len(merged) == 500
    np.testing.assert_array_equal(merged["prediction_cluster"], merged["prediction_local"])
    assert 0 < merged["prediction_local"].sum() < 500  # both classes: the comparison means something


def test_unreachable_master_fails_in_seconds_naming_the_url(hdfs_dir: str, isolated: Path) -> None:
    write_table_atomic(pa.Table.from_pandas(_frame(200, seed=3), preserve_index=False), f"{hdfs_dir}/t.parquet")
    master = f"spark://127.0.0.1:{free_port()}"  # nothing listens there
    config = _config(isolated / "arlequin.toml", master)
    result = _run([ARLEQUIN, "train", "--data", f"{hdfs_dir}/t.parquet"], config, timeout=60)
    assert result.returncode != 0
    assert f"cannot reach the Spark master at {master}" in result.stderr
    assert "[spark] master" in result.stderr


def test_unreachable_namenode_fails_in_seconds_naming_it(isolated: Path) -> None:
    namenode = f"hdfs://127.0.0.1:{free_port()}"
    config = _config(isolated / "arlequin.toml", "local[1]")
    result = _run([ARLEQUIN, "train", "--data", f"{namenode}/landing/t.parquet"], config, timeout=60)
    assert result.returncode != 0
    assert f"{namenode}/landing/t.parquet" in result.stderr
    assert f"cannot reach the HDFS NameNode at {namenode}" in result.stderr
