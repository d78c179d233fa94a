"""Benchmark: checking a batch in Spark (``check_batch_spark``) against the numpy path (``check_batch``).

Reference and batch of N rows x 6 columns (3 numeric tested with ``ks``, ``psi`` and
``ks`` on integer ties, 3 categorical strings with 5, 100 and 1000 categories tested
with ``chi2``/``psi``). The batch is a Parquet file. Timed, per N:

* ``spark``: ``spark.read.parquet`` + ``check_batch_spark`` on a local[2] session
  (only aggregates reach the driver);
* ``numpy`` (baseline, same process): ``pyarrow.parquet.read_table`` + ``check_batch``.

Local mode on 2 cores pays Spark's job overhead without its scale-out, so the ratio
says what the overhead costs here, not what a cluster gains; the point of the Spark
path is that the driver holds reference-sized aggregates only. Figures on a shared
machine are provisional.

Run: ``python benchmarks/bench_spark_check.py [--rows 100000,1000000] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

from arlequin_core.config import ArlequinConfig
from arlequin_core.drift.check import check_batch
from arlequin_core.drift.profile import build_profile
from arlequin_core.drift.spark import check_batch_spark
from arlequin_core.plugins import PluginHost


def frame(n: int, seed: int, shift: float) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table(
        {
            "a": rng.normal(shift, 1, n),
            "b": rng.lognormal(shift, 1, n),
            "c": rng.integers(0, 500, n).astype(np.float64),
            "k5": rng.choice([f"c{i}" for i in range(5)], n),
            "k100": rng.choice([f"c{i}" for i in range(100)], n),
            "k1000": rng.choice([f"c{i}" for i in range(1000)], n),
        }
    )


def timed(fn, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="100000,1000000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("bench-spark-check")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")  # the 1M-row plan ships its splits by block transfer
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    registry = PluginHost().load().registry
    config = ArlequinConfig.model_validate(
        {"drift": {"columns": {"b": {"detector": "psi"}, "k100": {"detector": "psi"}}}}
    )
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for n in (int(r) for r in args.rows.split(",")):
                profile = build_profile(frame(n, 0, 0.0), config, registry)
                path = os.path.join(tmp, f"batch-{n}.parquet")
                pq.write_table(frame(n, 1, 0.01), path)
                numpy_report = check_batch(profile, pq.read_table(path), config, registry)
                spark_report = check_batch_spark(profile, spark.read.parquet(path), config, registry)  # warm-up
                assert spark_report.drifted_columns == numpy_report.drifted_columns
                t_numpy = timed(
                    lambda p=profile, f=path: check_batch(p, pq.read_table(f), config, registry), args.repeat
                )
                t_spark = timed(
                    lambda p=profile, f=path: check_batch_spark(p, spark.read.parquet(f), config, registry), args.repeat
                )
                print(
                    f"rows={n:>9,}  numpy (read + check_batch) {t_numpy:7.3f} s  "
                    f"spark (read + check_batch_spark) {t_spark:7.3f} s  ratio spark/numpy {t_spark / t_numpy:6.1f}"
                )
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
