"""The Arrow streaming engine: a batch read chunk by chunk, its states merged, memory bounded.

Parquet is read one row group at a time, in record batches of at most
:data:`CHUNK_ROWS` rows, and only the profile's columns; CSV in blocks of
:data:`CSV_BLOCK_BYTES` (types inferred from the first block, as pyarrow's reader does
for the in-memory path). Each chunk becomes a
:class:`~arlequin_core.drift.states.BatchState`, merged into the running one and
dropped, so peak memory is a few chunks plus the states (bounded by the reference),
whatever the size of the batch. Columns of one chunk are computed in parallel threads
(numpy and Arrow release the GIL) while pyarrow decodes the next chunk.

A chunk that fails to decode half-way through rejects the whole batch: the
:class:`~arlequin_core.errors.InputError` names the file and the row group (CSV: the
block and its first row), never a verdict on part of the data.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from arlequin_core.config import ArlequinConfig
from arlequin_core.drift.profile import Profile
from arlequin_core.drift.report import DriftReport
from arlequin_core.drift.states import BatchState, Plan, check_columns
from arlequin_core.errors import InputError
from arlequin_core.io import Format, _data_files, csv_problem, filesystem, guess_format
from arlequin_core.registry import ComponentRegistry

#: Rows per record batch read from Parquet.
CHUNK_ROWS = 262_144
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
    plan = Plan(profile, registry, "arrow", bounded=False)
    state = BatchState()
    names: list[str] | None = None
    with ThreadPoolExecutor(max_workers=max(1, min(len(plan.columns), os.cpu_count() or 1))) as pool:
        for chunk, where, column_names in iter_chunks(uri, config.data.format, plan):
            names = names or column_names
            state = plan.merge(state, _chunk_state(plan, chunk, where, pool))
    return plan.report(state, config, names or [], uri, skip), plan.plots(state)


def _chunk_state(plan: Plan, chunk: pa.RecordBatch, where: str, pool: ThreadPoolExecutor) -> BatchState:
    table = pa.Table.from_batches([chunk])
    parts = list(pool.map(lambda name: plan.column_state(table, name, where), plan.columns))
    return BatchState(rows=table.num_rows, columns=dict(zip(plan.columns, parts, strict=True)))


def iter_chunks(uri: str, fmt: Format, plan: Plan) -> Iterator[tuple[pa.RecordBatch, str, list[str]]]:
    """``(record batch of the plan's columns, where it came from, the file's column names)`` in file order."""
    uri = os.fspath(uri)
    try:
        fs, path = filesystem(uri)
    except (ValueError, ImportError) as exc:
        raise InputError(uri, f"cannot open this location: {exc}") from None
    kind = guess_format(uri, fmt)
    for file in _data_files(fs, path, uri):
        shown = uri if file == path else f"{uri} (part {posixpath.basename(file)})"
        try:
            if not fs.size(file):
                raise InputError(shown, "file is empty (0 bytes)")
            with fs.open(file, "rb") as f:
                reader = _parquet_chunks if kind == "parquet" else _csv_chunks
                yield from reader(f, file, shown, plan)
        except OSError as exc:
            raise InputError(shown, f"cannot read: {exc}") from None


def _parquet_chunks(f: Any, file: str, shown: str, plan: Plan) -> Iterator[tuple[pa.RecordBatch, str, list[str]]]:
    try:
        parquet = pq.ParquetFile(f)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(
            shown, f"not a complete Parquet file (truncated, still being written, or not Parquet): {exc}"
        ) from None
    names = parquet.schema_arrow.names
    check_columns(plan, names, shown)
    groups = parquet.num_row_groups
    for group in range(groups):
        where = f"{shown}, row group {group} of {groups}"
        batches = parquet.iter_batches(batch_size=CHUNK_ROWS, row_groups=[group], columns=plan.columns)
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                break
            except (pa.ArrowException, OSError, ValueError) as exc:
                raise InputError(where, f"cannot decode: {_one_line(exc)}; the whole batch is rejected") from None
            yield batch, where, names


def _csv_chunks(f: Any, file: str, shown: str, plan: Plan) -> Iterator[tuple[pa.RecordBatch, str, list[str]]]:
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
        yield batch.select(plan.columns), where, names
        block, row = block + 1, row + batch.num_rows


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()).rstrip(".")
