"""Hook implementations of the ``spark`` plugin (components imported on first use)."""

from __future__ import annotations

from arlequin_core import hookimpl, lazy
from arlequin_core.hookspecs import Register


@hookimpl
def arlequin_register_trainers(register: Register) -> None:
    """Register ``spark`` (any pyspark.ml predictor) and ``spark-logreg``; pyspark is imported on first use."""
    register(lazy("arlequin_spark.trainer:SparkTrainer", name="spark"))
    register(lazy("arlequin_spark.trainer:SparkLogregTrainer", name="spark-logreg"))
