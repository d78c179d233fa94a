"""The Arrow streaming engine: a batch read chunk by chunk, its states merged, memory bounded.

Parquet is read one row group at a time, in record batches of at most
:data:`CHUNK_ROWS` rows, and only the profile's columns (plus the label when the row
sample wants it); CSV in blocks of :data:`CSV_BLOCK_BYTES` (types inferred from the
first block, as pyarrow's reader does for the in-memory path). Each chunk becomes a
:class:`~arlequin_core.drift.states.BatchState`, merged into the running one and
dropped, so peak memory is a few chunks plus the states (bounded by the reference),
whatever the size of the batch.

Where the time goes, and what keeps it low:

* one reader thread decodes the next chunk while the current one is computed;
* the columns of a chunk are computed in parallel threads (numpy's sorts and searches
  and Arrow's kernels release the GIL);
* a numeric column is sorted once per chunk; its detector's cut counts, its plot bins
  and its effect cells are binary searches in that one sorted copy;
* Parquet string columns whose reference has at most
  :data:`~arlequin_core.drift.categories.DICTIONARY_MAX` categories are read as
  dictionaries (``read_dictionary``): a chunk is counted by dictionary index, its
  strings never materialised; an identifier-like column is read plain and hashed once
  (:class:`~arlequin_core.drift.categories.CategoryIndex`). The plot bars and the
  effect counts of a categorical column are taken from its detector's counts, so each
  chunk is counted once per column;
* chunks are :data:`CHUNK_ROWS` (1 Mi) rows: the per-chunk work that scales with the
  reference (``ks`` cut points, the category table) is paid once per million rows;
* the row sample (:class:`~arlequin_core.drift.sample.RowSampler`) is taken in the same
  pass, when multivariate detectors or the performance estimate need rows.

A chunk that fails to decode half-way through rejects the whole batch: the
:class:`~arlequin_core.errors.InputError` names the file and the row group (CSV: the
block and its first row), never a verdict on part of the data.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from arlequin_core.config import ArlequinConfig
from arlequin_core.drift.categories import DICTIONARY_MAX
from arlequin_core.drift.profile import Profile
from arlequin_core.drift.report import DriftReport
from arlequin_core.drift.sample import RowSampler, wanted_columns
from arlequin_core.drift.states import BatchState, ColumnState, Plan, check_columns
from arlequin_core.errors import InputError
from arlequin_core.io import Format, csv_problem, data_files, filesystem, guess_format, open_input
from arlequin_core.registry import ComponentRegistry

#: Rows per record batch read from Parquet.
CHUNK_ROWS = 1 << 20
#: Bytes per CSV block.
CSV_BLOCK_BYTES = 16 << 20


def check_batch_arrow(
    profile: Profile,
    uri: str,
    config: ArlequinConfig,
    registry: ComponentRegistry,
    *,
    skip: Mapping[str, str] | None = None,
) -> tuple[DriftReport, dict[str, dict[str, Any]]]:
    """Check the batch at ``uri`` (file or Spark/Hadoop directory, any fsspec URI) by streaming it.

    :returns: the report (``engine`` ``"arrow"``) and the batch's plot summaries, for
        :func:`~arlequin_core.drift.html.write_html`.
    :raises EngineUnsupportedError: a column's detector cannot stream (named, with why).
    :raises InputError: unreadable input, a chunk that does not decode (file and row
        group named), missing columns, no rows.
    """
    report, plots, _ = stream_batch(profile, uri, config, registry, skip=skip)
    return report, plots


def stream_batch(
    profile: Profile,
    uri: str,
    config: ArlequinConfig,
    registry: ComponentRegistry,
    *,
    skip: Mapping[str, str] | None = None,
    sample: bool = False,
) -> tuple[DriftReport, dict[str, dict[str, Any]], pa.Table | None]:
    """:func:`check_batch_arrow`, and the batch's row sample taken in the same pass when ``sample``.

    :param sample: also take the row sample (:mod:`arlequin_core.drift.sample`, ``[drift] sample_rows``).
    :returns: the report, the plot summaries, the row sample (None unless asked).
    """
    plan = Plan(profile, registry, "arrow", bounded=False)
    running = _RunningState(plan)
    names: list[str] | None = None
    sampler: RowSampler | None = None
    labels = (config.data.label, profile.data.get("label")) if sample else ()
    extra = list(dict.fromkeys(c for c in labels if c and c not in plan.columns))
    chunks = iter_chunks(uri, config.data.format, plan, extra=extra)
    workers = max(1, min(len(plan.columns), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool, ThreadPoolExecutor(max_workers=1) as reader:
        ahead = reader.submit(next, chunks, None)
        try:
            while (item := ahead.result()) is not None:
                ahead = reader.submit(next, chunks, None)  # decode the next chunk meanwhile
                chunk, where, column_names = item
                if names is None:
                    names = column_names
                    if sample:
                        sampler = RowSampler(config.drift.sample_rows, wanted_columns(names, profile, config))
                running.add(chunk, where, pool, sampler)
        finally:
            wait([ahead])  # the reader has let go of the generator: close its file now
            chunks.close()
    state = running.state()
    report = plan.report(state, config, names or [], uri, skip)
    return report, plan.plots(state), sampler.table() if sampler is not None else None


class _RunningState:
    """The merged state of the chunks so far, one column per task.

    Each chunk's columns are computed in the pool, costliest first so the threads finish
    together, and each task merges its column's part into that column's running state
    (columns are independent; chunks come one after another, so parts merge in order).
    The row sample, when asked, is one more task of the same round.
    """

    def __init__(self, plan: Plan) -> None:
        self.plan, self.rows = plan, 0
        self.columns: dict[str, ColumnState] = {}
        self.order = _costliest_first(plan)

    def add(self, chunk: pa.RecordBatch, where: str, pool: ThreadPoolExecutor, sampler: RowSampler | None) -> None:
        table = pa.Table.from_batches([chunk])

        def column(name: str) -> None:
            part = self.plan.column_state(table, name, where)
            before = self.columns.get(name)
            self.columns[name] = part if before is None else before.merge(part, self.plan.detectors[name])

        tasks = [pool.submit(column, name) for name in self.order]
        if sampler is not None:
            tasks.append(pool.submit(sampler.add, chunk))
        for task in tasks:
            task.result()  # re-raises a column's InputError
        self.rows += table.num_rows

    def state(self) -> BatchState:
        if not self.columns:
            return BatchState(rows=self.rows)
        return BatchState(rows=self.rows, columns={name: self.columns[name] for name in self.plan.columns})


def _costliest_first(plan: Plan) -> list[str]:
    """The plan's columns, those likely to take longest first, so the threads finish together:
    identifier-like columns (hashed), then numeric ones by number of cut points, then the rest."""

    def cost(name: str) -> tuple[int, int]:
        if plan.profile.columns[name].kind == "numeric":
            return 1, plan.cut_count(name)
        categories = plan.reference_categories(name) if plan.counted_by_category(name) else 0
        return (2 if categories > DICTIONARY_MAX else 0), categories

    return sorted(plan.columns, key=cost, reverse=True)


def iter_chunks(
    uri: str, fmt: Format, plan: Plan, *, extra: list[str] | tuple[str, ...] = ()
) -> Iterator[tuple[pa.RecordBatch, str, list[str]]]:
    """``(record batch of the plan's columns, where it came from, the file's column names)`` in file order.

    :param extra: further columns to read where a file has them (the label, for the row sample).
    """
    uri = os.fspath(uri)
    try:
        fs, path = filesystem(uri)
    except (ValueError, ImportError) as exc:
        raise InputError(uri, f"cannot open this location: {exc}") from None
    kind = guess_format(uri, fmt)
    for file in data_files(fs, path, uri):
        shown = uri if file == path else f"{uri} (part {posixpath.basename(file)})"
        try:
            if not fs.size(file):
                raise InputError(shown, "file is empty (0 bytes)")
            with open_input(fs, file) as f:
                if kind == "parquet":
                    yield from _parquet_chunks(f, shown, plan, extra)
                else:
                    yield from _csv_chunks(f, file, shown, plan, extra)
        except OSError as exc:
            raise InputError(shown, f"cannot read: {exc}") from None


def _dictionary_columns(plan: Plan, schema: pa.Schema) -> list[str]:
    """The plan's categorical string columns worth reading as dictionaries (few reference categories)."""
    out = []
    for name in plan.columns:
        cp = plan.profile.columns[name]
        if cp.kind == "numeric" or name not in schema.names:
            continue
        kind = schema.field(name).type
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_binary(kind)):
            continue
        if plan.counted_by_category(name) and plan.reference_categories(name) <= DICTIONARY_MAX:
            out.append(name)
    return out


def _parquet_chunks(f: Any, shown: str, plan: Plan, extra: Any) -> Iterator[tuple[pa.RecordBatch, str, list[str]]]:
    try:
        parquet = pq.ParquetFile(f)
        names = parquet.schema_arrow.names
        check_columns(plan, names, shown)
        dictionaries = _dictionary_columns(plan, parquet.schema_arrow)
        if dictionaries:
            parquet = pq.ParquetFile(f, read_dictionary=dictionaries)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(
            shown, f"not a complete Parquet file (truncated, still being written, or not Parquet): {exc}"
        ) from None
    columns = plan.columns + [c for c in extra if c in names]
    groups = parquet.num_row_groups
    for group in range(groups):
        where = f"{shown}, row group {group} of {groups}"
        batches = parquet.iter_batches(batch_size=CHUNK_ROWS, row_groups=[group], columns=columns)
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                break
            except (pa.ArrowException, OSError, ValueError) as exc:
                raise InputError(where, f"cannot decode: {_one_line(exc)}; the whole batch is rejected") from None
            yield batch, where, names


def _csv_chunks(
    f: Any, file: str, shown: str, plan: Plan, extra: Any
) -> Iterator[tuple[pa.RecordBatch, str, list[str]]]:
    stream: Any = pa.CompressedInputStream(f, "gzip") if file.endswith(".gz") else f
    convert = pacsv.ConvertOptions(strings_can_be_null=True, quoted_strings_can_be_null=False)
    try:
        reader = pacsv.open_csv(
            stream, read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES), convert_options=convert
        )
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(shown, csv_problem(exc, CSV_BLOCK_BYTES)) from None
    names = reader.schema.names
    check_columns(plan, names, shown)
    block, row = 0, 0
    while True:
        where = f"{shown}, CSV block {block} (from data row {row})"
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except (pa.ArrowException, OSError, ValueError) as exc:
            if "straddl" in str(exc):
                raise InputError(where, f"{csv_problem(exc, CSV_BLOCK_BYTES)}; the whole batch is rejected") from None
            raise InputError(where, f"cannot decode: {_one_line(exc)}; the whole batch is rejected") from None
        yield batch.select(plan.columns + [c for c in extra if c in names]), where, names
        block, row = block + 1, row + batch.num_rows


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()).rstrip(".")
