"""Checking a batch that lives in Spark, without collecting it to the driver.

:func:`check_batch_spark` gives the same :class:`~arlequin_core.drift.report.DriftReport`
as :func:`~arlequin_core.drift.check.check_batch` on the same rows, but only aggregates
come back to the driver:

* one pass counts the rows and, per tested column, its missing values (null, or NaN
  in a float column) and its values that are not numbers;
* a **numeric** column is cut at its detector's cut points ``u`` (the distinct
  reference values for ``ks``, the cell edges for ``psi``/``kl``/``jensen_shannon``)
  with :class:`pyspark.ml.feature.Bucketizer` (a binary search per row, no Python
  UDF); one ``groupBy`` per column gives :class:`~arlequin_core.drift.cuts.CutCounts`,
  ``len(u) + 1`` rows whatever the batch size. ``ks`` gets its exact statistic from
  them (the batch ECDF at every reference value and the largest batch value below
  each, see :mod:`arlequin_stats.ks`), and its p-value from the same function as on
  numpy, exact or asymptotic by the same rule;
* a **categorical** column is counted by ``groupBy``: one row per distinct batch
  value, so a batch full of categories the reference never had (an identifier column)
  brings all of them back, as the numpy path counts them too.

A detector takes part when it has ``cut_points()`` and ``score_cut_counts(cuts)``
(numeric) or ``score_category_counts(counts)`` (categorical), defined by the class that
also defines its ``score``. Others (``wasserstein``, whose distance needs every batch
value; the online river detectors, which are fed values in order; third-party ones)
are refused up front with :class:`SparkUnsupportedError`; nothing is approximated.

Numeric conversions follow :func:`arlequin_core.drift.columns.numeric_array`:
booleans and decimals become doubles, timestamps microseconds since the epoch (the
unit Spark keeps, and writes to Parquet); a string column must hold numbers only;
other types (dates included, as on numpy) are refused. ``-0.0`` counts as
``0.0`` (Spark's binary search would order it before ``0.0``; numpy does not).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from arlequin_core.config import ArlequinConfig
from arlequin_core.drift.base import Detector, Score
from arlequin_core.drift.check import build_report, finish_result, start_result
from arlequin_core.drift.columns import category_key, is_missing
from arlequin_core.drift.cuts import CutCounts
from arlequin_core.drift.policy import check_columns_exist
from arlequin_core.drift.profile import ColumnProfile, Profile
from arlequin_core.drift.report import DriftReport
from arlequin_core.errors import ArlequinError, InputError
from arlequin_core.registry import ComponentRegistry

#: Detectors that work on a Spark batch, suggested when another one is refused.
SPARK_NUMERIC = ("ks", "psi", "kl", "jensen_shannon")
SPARK_CATEGORICAL = ("chi2", "psi", "kl", "jensen_shannon")


class SparkUnsupportedError(ArlequinError):
    """A column's detector cannot score a batch from aggregates computed in Spark."""


def check_batch_spark(
    profile: Profile,
    df: Any,
    config: ArlequinConfig,
    registry: ComponentRegistry,
    *,
    uri: str | None = None,
) -> DriftReport:
    """Test a Spark DataFrame for drift against ``profile``, computing only aggregates in Spark.

    Same verdict, statistics, p-values and details as
    :func:`~arlequin_core.drift.check.check_batch` on the same rows (see the module
    docstring for what is computed where). Online detectors are not supported, so
    ``[data] timestamp`` plays no part.

    :param df: a ``pyspark.sql.DataFrame``; extra columns are ignored (and listed in the report).
    :param uri: where the batch came from, for error messages and the report.
    :raises SparkUnsupportedError: a column's detector cannot be computed from Spark
        aggregates (naming the column, the detector, and detectors that can), raised
        before any Spark job runs.
    :raises InputError: the batch has no rows, lacks columns of the profile, or a
        numeric column holds something other than numbers.
    :raises ConfigError: ``[drift.columns]`` or ``critical`` name a column the profile does not test.
    """
    where = uri or "current batch"
    column_names = list(df.columns)
    absent = [name for name in profile.columns if name not in column_names]
    if absent:
        raise InputError(
            where,
            f"missing column{'s' if len(absent) > 1 else ''} {', '.join(map(repr, absent))} "
            f"that the reference has; the batch has: {', '.join(column_names) or 'no columns'}",
        )
    check_columns_exist(config, list(profile.columns))
    scorers = {name: _scorer(profile, cp, registry) for name, cp in profile.columns.items()}
    values = {name: _values(df, name, cp.kind, where) for name, cp in profile.columns.items()}
    rows, missing = _missing_counts(df, profile, values, where)
    if rows == 0:
        raise InputError(where, "the batch has no rows; nothing to test (it is rejected, not passed)")
    results = []
    for name, cp in profile.columns.items():
        result = start_result(cp, config, rows, missing[name])
        if "skipped" not in result.details:
            result = finish_result(result, scorers[name](df, values[name]))
        results.append(result)
    return build_report(profile, results, config, rows, column_names, uri)


def _scorer(profile: Profile, cp: ColumnProfile, registry: ComponentRegistry) -> Callable[[Any, Any], Score]:
    """How to score ``cp`` from Spark aggregates, or a clear refusal."""
    detector = profile.detector(cp.name, registry)
    cls = type(detector)
    method = "score_cut_counts" if cp.kind == "numeric" else "score_category_counts"
    if not detector.info.online and _owns(cls, method) and (cp.kind != "numeric" or _owns(cls, "cut_points")):
        score = getattr(detector, method)
        if cp.kind == "numeric":
            cuts = detector.cut_points()  # type: ignore[attr-defined]
            return lambda df, value: score(_cut_counts(df, value, cuts))
        return lambda df, value: score(_category_counts(df, value))
    why = (
        "it is an online detector, fed the values in order"
        if detector.info.online
        else "its statistic cannot be computed exactly from aggregates of the size of the reference"
    )
    usable = SPARK_NUMERIC if cp.kind == "numeric" else SPARK_CATEGORICAL
    raise SparkUnsupportedError(
        f"column {cp.name!r}: detector {cp.detector!r} cannot score a batch in Spark ({why}); "
        f"fit the profile with one of {', '.join(usable)} for this column "
        f"([drift.columns.{cp.name}] detector), or check the batch with pyarrow (check_batch)"
    )


def _owns(cls: type[Detector], method: str) -> bool:
    """``cls`` has ``method`` and it comes from the class that defines ``cls.score`` or a subclass of it.

    A subclass that overrides ``score`` but inherits the count-based method would be
    scored differently in Spark than on numpy; it is refused instead.
    """
    if not callable(getattr(cls, method, None)):
        return False
    defines_score = next(k for k in cls.__mro__ if "score" in vars(k))
    defines_method = next(k for k in cls.__mro__ if method in vars(k))
    return issubclass(defines_method, defines_score)


def _values(df: Any, name: str, kind: str, where: str) -> Any:
    """The column as Detectors see it: a double Column (numeric) or the raw Column (categorical)."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    col = F.col(_quoted(name))
    if kind != "numeric":
        return col
    dtype = df.schema[name].dataType
    if isinstance(dtype, T.StringType):  # a text that is no number becomes null, then is refused
        return col.try_cast("double")
    if isinstance(dtype, (T.NumericType, T.BooleanType)):
        return col.cast("double")
    if isinstance(dtype, (T.TimestampType, T.TimestampNTZType)):
        return F.unix_micros(col.cast("timestamp")).cast("double")
    raise InputError(where, f"column {name!r} ({dtype.simpleString()}) is not numeric")


def _missing_counts(df: Any, profile: Profile, values: dict[str, Any], where: str) -> tuple[int, dict[str, int]]:
    """Rows of the batch and missing values per column, in one aggregation; refuses text in numeric columns."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    aggregates = [F.count(F.lit(1)).alias("rows")]
    for i, (name, cp) in enumerate(profile.columns.items()):
        value = values[name]
        dtype = df.schema[name].dataType
        if cp.kind == "numeric":
            missing = value.isNull() | F.isnan(value)
            if isinstance(dtype, T.StringType):
                bad = F.col(_quoted(name)).isNotNull() & value.isNull()
                aggregates.append(F.sum(bad.cast("long")).alias(f"b{i}"))
                aggregates.append(F.first(F.when(bad, F.col(_quoted(name))), ignorenulls=True).alias(f"v{i}"))
        elif isinstance(dtype, (T.FloatType, T.DoubleType)):
            missing = value.isNull() | F.isnan(value)
        else:
            missing = value.isNull()
        aggregates.append(F.sum(missing.cast("long")).alias(f"m{i}"))
    row = df.agg(*aggregates).collect()[0].asDict()
    counts = {}
    for i, name in enumerate(profile.columns):
        if row.get(f"b{i}"):
            raise InputError(where, f"column {name!r} (string) is not numeric: it holds {row[f'v{i}']!r}")
        counts[name] = int(row[f"m{i}"] or 0)
    return int(row["rows"]), counts


def _cut_counts(df: Any, value: Any, cuts: np.ndarray) -> CutCounts:
    """:class:`CutCounts` of the non-missing ``value`` between ``cuts``, by one ``groupBy`` in Spark."""
    from pyspark.sql import functions as F

    cuts = np.asarray(cuts, dtype=np.float64) + 0.0  # + 0.0 turns -0.0 into 0.0
    size = cuts.size + 1
    x = F.when(value == 0.0, F.lit(0.0)).otherwise(value)
    frame = df.select(x.alias("x")).where(F.col("x").isNotNull() & ~F.isnan("x"))
    frame = frame.withColumn("nx", -F.col("x"))
    frame = _right_cell(frame, "x", "right", cuts)
    frame = _right_cell(frame, "nx", "right_neg", -cuts[::-1])
    # #(u < x) = K - #(-u <= -x); x equals a cut exactly when it differs from #(u <= x).
    at_lower = (F.col("right") + F.col("right_neg") - cuts.size).cast("long")
    rows = (
        frame.groupBy("right")
        .agg(F.count(F.lit(1)).alias("n"), F.sum(at_lower).alias("eq"), F.max("x").alias("top"))
        .collect()
    )
    counts = np.zeros(size, dtype=np.int64)
    equal = np.zeros(size, dtype=np.int64)
    maxima = np.full(size, np.nan)
    for row in rows:
        cell = int(row["right"])
        counts[cell], equal[cell], maxima[cell] = int(row["n"]), int(row["eq"]), float(row["top"])
    return CutCounts(counts=counts, at_lower=equal, maxima=maxima)


def _right_cell(frame: Any, source: str, target: str, cuts: np.ndarray) -> Any:
    """Add ``target = #(cuts <= source)`` (numpy's ``searchsorted(cuts, x, side="right")``) for non-NaN doubles.

    ``Bucketizer`` cuts at ``[-inf, *cuts, inf]``, which must be strictly increasing, so an
    infinite cut is left out of the splits and accounted for around them.
    """
    from pyspark.sql import functions as F

    offset = 1 if cuts.size and math.isinf(cuts[0]) and cuts[0] < 0 else 0
    inner = cuts[offset:]
    if inner.size and math.isinf(inner[-1]):
        inner = inner[:-1]
    splits = [-math.inf, *(float(c) for c in inner), math.inf]
    if len(splits) < 3:  # every cut is infinite: Bucketizer needs three splits, a sum does it
        expression = sum((F.col(source) >= float(c)).cast("int") for c in cuts)
        return frame.withColumn(target, expression)
    frame = _bucketize(frame, source, f"{target}_bucket", splits)
    # Bucketizer's last bucket holds +inf; a +inf value is past every cut.
    cell = F.when(F.col(source) == math.inf, F.lit(cuts.size)).otherwise(F.col(f"{target}_bucket").cast("int") + offset)
    return frame.withColumn(target, cell).drop(f"{target}_bucket")


def _bucketize(frame: Any, source: str, target: str, splits: list[float]) -> Any:
    """``Bucketizer(splits).transform(frame)``, handing the splits to the JVM as one byte buffer.

    pyspark converts a list parameter one element per gateway call, minutes for a
    reference of a million distinct values; one ``bytes`` argument is copied at once.
    Where the JVM is not reachable from Python (Spark Connect), the plain transformer is used.
    """
    from pyspark.ml.feature import Bucketizer
    from pyspark.sql import DataFrame

    session = frame.sparkSession
    jvm = getattr(session, "_jvm", None)
    if jvm is None or not hasattr(frame, "_jdf"):
        return Bucketizer(splits=splits, inputCol=source, outputCol=target).transform(frame)
    gateway = session.sparkContext._gateway
    doubles = gateway.new_array(gateway.jvm.double, len(splits))
    # Java's ByteBuffer is big-endian by default.
    jvm.java.nio.ByteBuffer.wrap(np.asarray(splits, dtype=">f8").tobytes()).asDoubleBuffer().get(doubles)
    bucketizer = jvm.org.apache.spark.ml.feature.Bucketizer().setSplits(doubles)
    return DataFrame(bucketizer.setInputCol(source).setOutputCol(target).transform(frame._jdf), session)


def _category_counts(df: Any, value: Any) -> dict[str, int]:
    """Counts by :func:`~arlequin_core.drift.columns.category_key`, missing left out (as ``category_counts``)."""
    from pyspark.sql import functions as F

    rows = df.select(value.alias("v")).where(F.col("v").isNotNull()).groupBy("v").count().collect()
    counts: dict[str, int] = {}
    for row in rows:
        raw = row["v"]
        if isinstance(raw, bytearray):  # Spark's binary values; Arrow gives bytes
            raw = bytes(raw)
        if is_missing(raw):
            continue
        key = category_key(raw)
        counts[key] = counts.get(key, 0) + int(row["count"])
    return counts


def _quoted(name: str) -> str:
    """A column name Spark reads literally (dots, spaces and backticks included)."""
    return "`" + name.replace("`", "``") + "`"
