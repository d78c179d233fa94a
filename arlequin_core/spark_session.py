"""The one way Arlequin gets a SparkSession: from the ``[spark]`` section.

Both the Spark drift engine (:mod:`arlequin_core.drift.spark`) and the Spark trainer
(``plugins/arlequin_spark``) call :func:`spark_session`, so one ``[spark]`` table
configures both::

    [spark]
    master = "spark://spark-master.internal:7077"
    conf = { "spark.executor.memory" = "4g", "spark.sql.shuffle.partitions" = 64 }

An active session (a notebook's, a test's, ``spark-submit``'s) is reused as it is:
Spark cannot change the master of a running session. Otherwise a new session is
built on ``[spark] master`` (``local[*]`` when none is set) with ``[spark] conf``.
"""

from __future__ import annotations

from typing import Any

from arlequin_core.config import ArlequinConfig

#: The master of a session Arlequin creates when ``[spark] master`` is not set.
DEFAULT_MASTER = "local[*]"


def spark_session(config: ArlequinConfig) -> Any:
    """The active SparkSession, else a new one from ``[spark]`` (see the module docstring)."""
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is not None:
        return session
    builder = SparkSession.builder.master(config.spark.master or DEFAULT_MASTER).appName(config.spark.app_name)
    for key, value in config.spark.conf.items():
        builder = builder.config(key, _conf_value(value))
    return builder.getOrCreate()


def _conf_value(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def cancel_spark_jobs(stop: bool = False) -> bool:
    """Cancel the running jobs of this process's SparkContext (``stop``: stop the context too).

    For a process that is shutting down while another thread waits in a Spark job (a
    retrain in a sink's worker): the job fails at once, so that thread can unwind and
    end before the interpreter finalises. Does not import pyspark: a process that never
    used Spark has nothing to cancel.

    :returns: whether there was a SparkContext to cancel.
    """
    import sys

    if "pyspark" not in sys.modules:
        return False
    from pyspark import SparkContext

    context = SparkContext._active_spark_context
    if context is None:
        return False
    if stop:
        context.stop()
    else:
        context.cancelAllJobs()
    return True
