"""The Spark engine: a batch that lives in Spark, checked in one pass, never collected.

:func:`check_batch_spark` runs the same statistics engine as the Arrow one
(:mod:`arlequin_core.drift.states`) on Spark's executors:

1. the profile's columns are selected and handed to ``mapInArrow``: each partition's
   rows arrive as Arrow record batches on an executor, which builds their
   :class:`~arlequin_core.drift.states.BatchState` with the very code the Arrow engine
   uses (so conversions, category keys and counts are the same by construction);
2. the partition states (bounded by the reference: counts at cut points, category
   counts plus a bounded summary of unseen ones, plot-bin counts) are merged by
   ``treeReduce`` on the executors, so the driver receives one state whatever the
   number of partitions, the batch size or the cardinality of its columns;
3. the driver scores the merged state and applies the policy.

That is one Spark job reading the batch once. Rows never reach the driver. Detectors
without a bounded state (the values fallback of a third-party detector) and online
detectors (they need every row in order) are refused by name before any job runs.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator, Mapping
from typing import Any

from arlequin_core.config import ArlequinConfig
from arlequin_core.drift.profile import Profile
from arlequin_core.drift.report import DriftReport
from arlequin_core.drift.states import BatchState, EngineUnsupportedError, Plan, check_columns
from arlequin_core.drift.stream import CHUNK_ROWS
from arlequin_core.errors import ArlequinError, InputError
from arlequin_core.registry import ComponentRegistry

#: Kept for callers of the first Spark path: the engine's refusal.
SparkUnsupportedError = EngineUnsupportedError

#: Depth of the executors' merge tree (``RDD.treeReduce``).
TREE_DEPTH = 2


def check_batch_spark(
    profile: Profile,
    df: Any,
    config: ArlequinConfig,
    registry: ComponentRegistry,
    *,
    uri: str | None = None,
    skip: Mapping[str, str] | None = None,
) -> DriftReport:
    """Test a Spark DataFrame for drift against ``profile`` in one pass (see the module docstring).

    The same report as :func:`~arlequin_core.drift.stream.check_batch_arrow` and
    :func:`~arlequin_core.drift.check.check_batch` on the same rows (``engine`` ``"spark"``).

    :param df: a ``pyspark.sql.DataFrame``; extra columns are ignored (and listed in the report).
    :raises EngineUnsupportedError: a column's detector cannot run here (named, with why),
        before any Spark job.
    :raises InputError: no rows, missing columns, a numeric column holding text.
    """
    return check_batch_spark_with_plots(profile, df, config, registry, uri=uri, skip=skip)[0]


def check_batch_spark_with_plots(
    profile: Profile,
    df: Any,
    config: ArlequinConfig,
    registry: ComponentRegistry,
    *,
    uri: str | None = None,
    skip: Mapping[str, str] | None = None,
) -> tuple[DriftReport, dict[str, dict[str, Any]]]:
    """:func:`check_batch_spark` and the batch's plot summaries (for the HTML report)."""
    where = uri or "current batch"
    plan = Plan(profile, registry, "spark", bounded=True)
    column_names = list(df.columns)
    check_columns(plan, column_names, where)
    state = _merged_state(plan, df.select(*[_quoted(name) for name in plan.columns]), where)
    return plan.report(state, config, column_names, uri, skip), plan.plots(state)


def _merged_state(plan: Plan, frame: Any, where: str) -> BatchState:
    def partition(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        state = BatchState()
        try:
            # Spark hands over small record batches (spark.sql.execution.arrow.maxRecordsPerBatch,
            # 10 000 rows by default); states are built on chunks of CHUNK_ROWS, as on Arrow.
            pending: list[Any] = []
            rows = 0
            for batch in batches:
                pending.append(batch)
                rows += batch.num_rows
                if rows >= CHUNK_ROWS:
                    state = plan.merge(state, plan.chunk_state(pa.Table.from_batches(pending), where))
                    pending, rows = [], 0
            if pending:
                state = plan.merge(state, plan.chunk_state(pa.Table.from_batches(pending), where))
            payload = pickle.dumps(("ok", state), protocol=pickle.HIGHEST_PROTOCOL)
        except InputError as exc:
            payload = pickle.dumps(("error", (exc.path, exc.problem)))
        except ArlequinError as exc:
            payload = pickle.dumps(("error", (where, str(exc))))
        yield pa.RecordBatch.from_pydict({"state": [payload]}, schema=pa.schema([("state", pa.binary())]))

    def merge(a: bytes, b: bytes) -> bytes:
        left, right = pickle.loads(a), pickle.loads(b)
        if left[0] == "error":
            return a
        if right[0] == "error":
            return b
        return pickle.dumps(("ok", plan.merge(left[1], right[1])), protocol=pickle.HIGHEST_PROTOCOL)

    states = frame.mapInArrow(partition, "state binary").rdd.map(lambda row: bytes(row[0]))
    if states.getNumPartitions() == 0:
        return BatchState()
    kind, result = pickle.loads(states.treeReduce(merge, depth=TREE_DEPTH))
    if kind == "error":
        raise InputError(*result)
    return result


def _quoted(name: str) -> str:
    """A column name Spark reads literally (dots, spaces and backticks included)."""
    return "`" + name.replace("`", "``") + "`"
