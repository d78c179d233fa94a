"""Benchmark: train + log + register on 1M rows (scikit-learn), and Spark training time.

Prints, for the same generated data and in the same process:

* baseline: a bare scikit-learn fit of the same pipeline on an in-memory frame of
  as many rows as the trainers fit on (80%; no reading, split, metrics or MLflow);
* ``sklearn-logreg`` fit alone (read, label, split, fit, held-out metrics);
* ``retrain`` end to end: the above plus model save, drift profile, MLflow run,
  model logging, registration and promotion (target: <= 15 s on 1M rows); the
  SQLite store already exists, as it does for every retrain but a deployment's first;
* the same again with a champion to validate against;
* ``spark-logreg`` fit (local[*]) on the same Parquet file (skipped without java).

Each figure comes with the ratio to the baseline. The machine may be shared: the
figures are indicative; run it alone for the record::

    python benchmarks/bench_train.py [--rows 1000000] [--no-spark]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

import numpy as np
import pandas as pd

TARGET_SECONDS = 15.0


def generate(rows: int, seed: int = 0) -> pd.DataFrame:
    """6 numeric and 4 categorical features (5% missing in some), and a 0/1 label ``y``."""
    rng = np.random.default_rng(seed)
    data: dict[str, np.ndarray] = {f"n{i}": rng.normal(i, 1.0 + i, rows) for i in range(6)}
    levels = [np.array([f"{name}{k}" for k in range(size)]) for name, size in zip("abcd", (3, 8, 20, 50), strict=True)]
    for i, lv in enumerate(levels):
        data[f"c{i}"] = lv[rng.integers(0, lv.size, rows)]
    logit = 0.8 * data["n0"] - 0.3 * data["n1"] + 0.1 * data["n2"] + np.where(data["c0"] == "a0", 1.0, -0.5)
    data["y"] = (rng.random(rows) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    frame = pd.DataFrame(data)
    frame.loc[rng.random(rows) < 0.05, "n3"] = np.nan
    frame.loc[rng.random(rows) < 0.05, "c3"] = None
    return frame


def timed(label: str, fn, baseline: float | None = None):
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    ratio = f"  ({seconds / baseline:.2f}x baseline)" if baseline else ""
    print(f"{label:<58} {seconds:8.2f} s{ratio}", flush=True)
    return result, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--no-spark", action="store_true", help="skip the Spark trainer")
    args = parser.parse_args()

    from arlequin_core.app import App
    from arlequin_core.config import ArlequinConfig
    from arlequin_core.logs import configure_logging
    from arlequin_core.training.features import FeatureSpec
    from arlequin_core.training.flow import retrain
    from arlequin_sklearn.trainer import build_pipeline, model_input

    configure_logging("console", "warning")
    work = Path(tempfile.mkdtemp(prefix="arlequin-bench-train-"))
    try:
        frame = generate(args.rows)
        data = work / "batch.parquet"
        frame.to_parquet(data, index=False)
        print(f"rows: {args.rows:,}  features: 6 numeric, 4 categorical  file: {data.stat().st_size / 1e6:.1f} MB")

        import pyarrow as pa

        # The trainers fit on the (1 - test_size) share of the rows: the baseline fits as many.
        fit_rows = int(args.rows * (1 - 0.2))
        features = FeatureSpec(tuple(f"n{i}" for i in range(6)), tuple(f"c{i}" for i in range(4)))
        x = model_input(pa.Table.from_pandas(frame.iloc[:fit_rows]), features)
        y = frame["y"].to_numpy()[:fit_rows]
        # Warm up imports, BLAS threads and allocator first, so the baseline is not charged for them.
        build_pipeline(features, {}).fit(x.iloc[:20_000], y[:20_000])
        _, baseline = timed(
            f"baseline: bare sklearn fit, same pipeline, {fit_rows:,} rows in memory",
            lambda: build_pipeline(features, {}).fit(x, y),
        )

        config = ArlequinConfig.model_validate(
            {"arlequin": {"home": str(work / ".arlequin"), "journal_fsync": False}, "data": {"label": "y"}}
        )
        app = App(config)
        app.registry  # noqa: B018 - load plugins outside the timings
        from arlequin_core.training.tracking import MLFLOW_LOCK, Tracking

        def create_store() -> None:
            tracking = Tracking.from_config(config)
            with MLFLOW_LOCK:
                tracking.experiment_id(tracking.client())

        timed("MLflow SQLite store creation (once per deployment, untimed below)", create_store)

        trainer_cls = app.component("trainer", "sklearn-logreg")
        timed(
            "sklearn-logreg: read + label + split + fit + metrics",
            lambda: trainer_cls(config).train([str(data)], heldout_uri=str(work / "heldout.parquet")),
            baseline,
        )
        first, total = timed(
            "retrain end to end (train+save+profile+log+register)", lambda: retrain(app, [str(data)]), baseline
        )
        second, _ = timed("retrain again, validated against the champion", lambda: retrain(app, [str(data)]), baseline)
        verdict = "OK" if total <= TARGET_SECONDS else "OVER TARGET"
        print(f"target: end to end <= {TARGET_SECONDS:.0f} s on 1M rows: {total:.2f} s ({verdict}; rows={args.rows:,})")
        print(f"versions: {first.version} (promoted={first.promoted}), {second.version} (promoted={second.promoted})")
        app.close()

        if args.no_spark:
            return 0
        if shutil.which("java") is None:
            print("spark-logreg: skipped (java is not installed)")
            return 0
        from pyspark.sql import SparkSession

        spark = (
            SparkSession.builder.master("local[*]")
            .appName("arlequin-bench")
            .config("spark.ui.enabled", "false")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.driver.memory", "3g")
            .config("spark.ui.showConsoleProgress", "false")
            .getOrCreate()
        )
        spark.sparkContext.setLogLevel("ERROR")
        try:
            spark_cls = app.component("trainer", "spark-logreg")
            timed(
                "spark-logreg (local[*]): read + label + split + fit + metrics",
                lambda: spark_cls(config, spark=spark).train([str(data)], heldout_uri=str(work / "heldout-spark")),
                baseline,
            )
        finally:
            spark.stop()
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
