"""Choosing and running the engine that checks a batch: ``[drift] engine``, ``--engine``.

=========  ===============================================================================
engine     what computes the statistics
=========  ===============================================================================
memory     the whole batch read as one Arrow table (:func:`~arlequin_core.drift.check.check_batch`);
           the only engine for online detectors and the model-error column
arrow      the batch streamed by row groups / CSV blocks, memory bounded
           (:mod:`arlequin_core.drift.stream`)
spark      one pass on Spark (``[spark]`` master and conf), partition states merged on the
           executors, never collecting rows (:mod:`arlequin_core.drift.spark`)
auto       **spark** when ``[spark] master`` is set, the batch's files total more than
           ``[drift] spark_min_bytes`` (or their size cannot be told from this machine)
           and every column's detector has a bounded state;
           else **arrow** when every column can stream; else **memory**
=========  ===============================================================================

An engine asked for by name that cannot compute a column refuses the batch, naming
the column, the detector and why (:class:`~arlequin_core.drift.states.EngineUnsupportedError`);
``auto`` only picks an engine that can. Every report says which engine made it
(``DriftReport.engine``).
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from arlequin_core.config import ArlequinConfig
from arlequin_core.drift.base import state_kind
from arlequin_core.drift.profile import ERROR_COLUMN, Profile
from arlequin_core.drift.report import DriftReport
from arlequin_core.errors import InputError
from arlequin_core.registry import ComponentRegistry

ENGINES = ("auto", "memory", "arrow", "spark")


@dataclass
class Checked:
    """A report and what its HTML plots are drawn from (a table, or the batch's plot summaries)."""

    report: DriftReport
    plots: Any
    #: The batch as a table, when the engine read it whole (memory); else None.
    table: Any = None
    #: A uniform sample of the batch's rows (:mod:`arlequin_core.drift.sample`), when rows were needed.
    sample: Any = None


def choose_engine(profile: Profile, uri: str, config: ArlequinConfig, registry: ComponentRegistry) -> str:
    """The engine ``auto`` picks for this batch (see the module docstring)."""
    kinds = {name: state_kind(profile.detector(name, registry), cp.kind) for name, cp in profile.columns.items()}
    if ERROR_COLUMN in profile.columns or "none" in kinds.values():
        return "memory"
    bounded = "values" not in kinds.values()
    if config.spark.master and bounded:
        size = batch_bytes(uri)
        # A size this machine cannot tell (a filesystem only the cluster reads) goes to Spark too.
        if size is None or size > config.drift.spark_min_bytes:
            return "spark"
    return "arrow"


def batch_bytes(uri: str) -> int | None:
    """Total size of the batch's files (None when it cannot be told from here)."""
    from arlequin_core.io import filesystem, is_hidden

    uri = os.fspath(uri)
    try:
        if ":" not in uri and os.path.isfile(uri):  # a plain local file: its size without importing fsspec
            return os.stat(uri).st_size
        fs, path = filesystem(uri)
        if not fs.isdir(path):
            return int(fs.size(path) or 0)
        return sum(
            int(info.get("size") or 0)
            for name, info in fs.find(path, detail=True).items()
            if not is_hidden(posixpath.relpath(name, path))
        )
    except (OSError, ValueError, ImportError):
        return None


def check_uri(
    profile: Profile,
    uri: str,
    config: ArlequinConfig,
    registry: ComponentRegistry,
    *,
    engine: str | None = None,
    skip: Mapping[str, str] | None = None,
    table: Any = None,
) -> Checked:
    """Check the batch at ``uri`` with ``engine`` (default ``[drift] engine``).

    The columns are checked by the engine; the multivariate detectors then score the
    batch's row sample (:mod:`arlequin_core.drift.sample`, the same rows on the memory and
    arrow engines, taken by the arrow engine in its one pass) and the policy decides with their rows too.

    :param table: the batch at ``uri`` already read whole (``pyarrow.Table``; the memory
        engine only, e.g. ``arlequin detect`` reading it beside the reference), else None.

    :raises EngineUnsupportedError: the named engine cannot compute a column.
    :raises InputError: unreadable or malformed batch (file, row group named).
    """
    name = engine or config.drift.engine
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}")
    if table is not None and name != "memory":
        raise ValueError(f"a batch read whole is checked by the memory engine, not {name!r}")
    if name == "auto":
        name = choose_engine(profile, uri, config, registry)
    from arlequin_core.drift import sample as rows

    size = config.drift.sample_rows
    if name == "arrow":
        from arlequin_core.drift.stream import stream_batch

        report, plots, sample = stream_batch(
            profile, uri, config, registry, skip=skip, sample=needs_sample(profile, config)
        )
        checked = Checked(report, plots, sample=sample)
    elif name == "spark":
        from arlequin_core.drift.spark import check_batch_spark_with_plots
        from arlequin_core.spark_session import spark_session

        frame = read_spark(spark_session(config), uri, config)
        report, plots = check_batch_spark_with_plots(profile, frame, config, registry, uri=uri, skip=skip)
        checked = Checked(report, plots)
        if needs_sample(profile, config):
            wanted = rows.wanted_columns(frame.columns, profile, config)
            checked.sample = rows.sample_spark(frame, report.rows_cur, size, wanted)
    else:
        from arlequin_core.drift.check import check_batch
        from arlequin_core.io import as_stored, read_table

        if table is None:
            table = read_table(uri, config.data.format, keep_index=config.data.roles(), dictionary=True)
        report = check_batch(profile, table, config, registry, uri=uri, skip=skip)
        # The sample's rows as the file holds them (text columns read as dictionaries decoded).
        checked = Checked(report, table, table, as_stored(rows.sample_table(table, size)))
    if profile.multivariate and checked.sample is not None:
        from arlequin_core.drift.multivariate import add_multivariate

        add_multivariate(report, profile, checked.sample, config, uri)
    return checked


def needs_sample(profile: Profile, config: ArlequinConfig) -> bool:
    """Whether the batch's rows are needed beyond per-column states (multivariate detectors, CBPE)."""
    performance = bool(profile.performance and "calibrator" in profile.performance and config.drift.performance)
    return bool(profile.multivariate) or performance


def read_spark(spark: Any, uri: str, config: ArlequinConfig) -> Any:
    """The batch at ``uri`` as a Spark DataFrame (Parquet, or CSV with a header, by ``[data] format``)."""
    from arlequin_core.io import batch_index_columns, guess_format

    # The JVM resolves a relative path against its own working directory, not this process's.
    where = uri if "://" in uri or uri.startswith("file:") else os.path.abspath(uri)
    try:
        if guess_format(uri, config.data.format) == "csv":
            return spark.read.option("header", True).option("inferSchema", True).csv(where)
        frame = spark.read.parquet(where)
    except Exception as exc:  # AnalysisException and the JVM's errors: name the batch
        problem = f"Spark cannot read the batch: {str(exc).splitlines()[0]}"
        if "TIMESTAMP(NANOS" in str(exc):  # pandas writes nanoseconds by default; Spark reads microseconds
            problem += (
                "; Spark reads no nanosecond timestamps: write them as microseconds, e.g. "
                "df.to_parquet(path, coerce_timestamps='us', allow_truncated_timestamps=True)"
            )
        raise InputError(uri, problem) from None
    # pandas' index columns are not data (arlequin_core.io.index_columns); Spark does not know them.
    index = [c for c in batch_index_columns(uri, config.data.format, config.data.roles()) if c in frame.columns]
    return frame.drop(*index) if index else frame
