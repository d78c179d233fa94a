"""Hook implementations of the ``spark`` plugin."""

from __future__ import annotations

from arlequin_core import hookimpl
from arlequin_core.hookspecs import Register


@hookimpl
def arlequin_register_trainers(register: Register) -> None:
    """Register ``spark`` (any pyspark.ml predictor) and ``spark-logreg``."""
    # Imported here so loading the plugin does not import pyspark.
    from arlequin_spark.trainer import SparkLogregTrainer, SparkTrainer

    register(SparkTrainer)
    register(SparkLogregTrainer)
