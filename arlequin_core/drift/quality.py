"""Data-quality checks of a batch: findings that are not drift, and must never become training data.

A batch whose critical column is all missing, all infinite, or stuck on one value is
not evidence that the world drifted: it is broken data (a failed join, an upstream
default, a unit bug). Testing it for drift reports "drift" and retrains a model on
garbage. So the monitor runs these checks next to the drift tests, on the columns
the profile tests:

* ``missing``: every value of the column is missing (null, or NaN for numbers),
  while the reference has values;
* ``non-finite``: a numeric column has no finite value at all (every value infinite,
  or infinite and missing);
* ``constant``: one single value in at least :data:`MIN_ROWS_CONSTANT` values, where
  the reference has several;
* ``few-rows``: the batch has fewer than ``[drift] quality_min_rows_share`` (default
  0.1) times the median row count of the last :data:`HISTORY` checked batches (once at
  least :data:`MIN_HISTORY` of them exist).

Findings go into the report (its ``quality`` section), into their own event,
``data-quality-failed``, and into the ledger (the batch is ``done`` with the reason
``data quality: ...``, so the retrain sink never trains on it). Unless ``[drift]
quality_is_drift = true``, a batch with findings does not count as drifted.

The checks read only the tested columns, chunk by chunk (Parquet record batches, CSV
blocks), keeping a few counters per column: memory is bounded whatever the batch size.
"""

from __future__ import annotations

import math
import os
import posixpath
import statistics
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from arlequin_core.drift.profile import Profile
from arlequin_core.errors import InputError
from arlequin_core.io import Format, _data_files, filesystem, guess_format, read_table

#: A constant is a finding only over at least this many values (a tiny batch may be constant).
MIN_ROWS_CONSTANT = 30
#: Recent batches whose row counts make "usual", and how many are needed before comparing.
HISTORY = 20
MIN_HISTORY = 5
#: Rows per Parquet record batch read by :func:`scan`.
CHUNK_ROWS = 262_144


@dataclass(frozen=True)
class Finding:
    """One data-quality problem of a batch.

    :param rule: ``missing``, ``non-finite``, ``constant`` or ``few-rows``.
    :param column: the column (None for ``few-rows``).
    :param message: one sentence naming the column and what is wrong.
    """

    rule: str
    column: str | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass
class Tally:
    """Counters of one column over a batch (merged chunk by chunk)."""

    numeric: bool
    rows: int = 0
    missing: int = 0
    infinite: int = 0
    low: float = math.inf
    high: float = -math.inf
    first: str | None = None
    varies: bool = False

    @property
    def finite(self) -> int:
        """Values that are neither missing nor infinite."""
        return self.rows - self.missing - self.infinite

    def add(self, values: pa.Array | pa.ChunkedArray) -> None:
        """Count one chunk of the column."""
        self.rows += len(values)
        if self.numeric:
            array = np.asarray(pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
            nan = np.isnan(array)
            inf = np.isinf(array)
            self.missing += int(nan.sum())
            self.infinite += int(inf.sum())
            finite = array[~(nan | inf)]
            if finite.size:
                self.low = min(self.low, float(finite.min()))
                self.high = max(self.high, float(finite.max()))
            return
        self.missing += values.null_count
        if self.varies:
            return
        distinct = pc.unique(pc.drop_null(values if isinstance(values, pa.Array) else values.combine_chunks()))
        if len(distinct) == 0:
            return
        if len(distinct) > 1:
            self.varies = True
            return
        value = str(distinct[0].as_py())
        if self.first is None:
            self.first = value
        elif value != self.first:
            self.varies = True

    @property
    def constant(self) -> str | None:
        """The single value when every non-missing value is the same, else None."""
        if self.numeric:
            return repr(self.low) if self.finite and self.low == self.high else None
        return self.first if self.first is not None and not self.varies else None


@dataclass
class Scan:
    """Row count and per-column :class:`Tally` of a batch."""

    rows: int = 0
    columns: dict[str, Tally] = field(default_factory=dict)


def tally_table(profile: Profile, table: pa.Table, scan: Scan | None = None) -> Scan:
    """Count the profile's columns of ``table`` (one chunk, or the whole batch) into ``scan``."""
    scan = scan or Scan()
    scan.rows += table.num_rows
    for name, cp in profile.columns.items():
        if name not in table.column_names:
            continue
        tally = scan.columns.setdefault(name, Tally(numeric=cp.kind == "numeric" and _is_number(table, name)))
        tally.add(table.column(name))
    return scan


def scan(profile: Profile, uri: str, fmt: Format = "auto") -> Scan:
    """Stream the batch at ``uri`` (file or Spark/Hadoop directory) and count the profile's columns.

    :raises InputError: unreadable input (the drift check would have said so first).
    """
    result = Scan()
    for chunk in _chunks(profile, os.fspath(uri), fmt):
        tally_table(profile, chunk, result)
    return result


def _chunks(profile: Profile, uri: str, fmt: Format) -> Iterator[pa.Table]:
    if guess_format(uri, fmt) != "parquet":
        yield read_table(uri, fmt, [c for c in profile.columns])  # CSV batches are small enough
        return
    fs, path = filesystem(uri)
    for file in _data_files(fs, path, uri):
        shown = uri if file == path else f"{uri} (part {posixpath.basename(file)})"
        try:
            with fs.open(file, "rb") as f:
                parquet = pq.ParquetFile(f)
                wanted = [c for c in profile.columns if c in parquet.schema_arrow.names]
                for batch in parquet.iter_batches(batch_size=CHUNK_ROWS, columns=wanted):
                    yield pa.Table.from_batches([batch])
        except (OSError, pa.ArrowException) as exc:
            raise InputError(shown, f"cannot read for the data-quality checks: {exc}") from None


def findings(
    profile: Profile, result: Scan, recent_rows: Iterable[int] = (), min_rows_share: float = 0.1
) -> list[Finding]:
    """The data-quality findings of a batch (see the module docstring), in column order."""
    found: list[Finding] = []
    for name, tally in result.columns.items():
        cp = profile.columns[name]
        if tally.rows == 0:
            continue
        if tally.missing == tally.rows and cp.values > 0:
            found.append(Finding("missing", name, f"column {name!r}: all {tally.rows} values are missing"))
        elif tally.numeric and tally.finite == 0 and tally.infinite:
            found.append(
                Finding(
                    "non-finite",
                    name,
                    f"column {name!r}: no finite value ({tally.infinite} infinite, {tally.missing} missing "
                    f"of {tally.rows})",
                )
            )
        elif tally.constant is not None and tally.rows - tally.missing >= MIN_ROWS_CONSTANT and _varies(cp.summary):
            found.append(
                Finding(
                    "constant",
                    name,
                    f"column {name!r}: every one of its {tally.rows - tally.missing} values is {tally.constant}, "
                    "where the reference varies",
                )
            )
    usual = list(recent_rows)[-HISTORY:]
    if len(usual) >= MIN_HISTORY:
        median = statistics.median(usual)
        if result.rows < min_rows_share * median:
            found.append(
                Finding(
                    "few-rows",
                    None,
                    f"{result.rows} rows, far fewer than usual (median {median:g} over the last {len(usual)} "
                    f"batches; the floor is {min_rows_share:g} of it)",
                )
            )
    return found


def recent_rows(reports_dir: Path, limit: int = HISTORY) -> list[int]:
    """Row counts of the latest checked batches without findings, oldest first (from their JSON reports)."""
    from arlequin_core.drift.history import load_reports

    try:
        reports = load_reports(reports_dir, last=limit)
    except Exception:  # the history is a help, never a reason to fail a batch
        return []
    return [int(r.rows_cur) for r in reports if not getattr(r, "quality", None)]


def _varies(summary: dict[str, Any]) -> bool:
    counts = [int(c) for c in summary.get("counts", [])]
    occupied = sum(1 for c in counts if c > 0)
    if summary.get("type") == "bars":
        return occupied + (1 if int(summary.get("other", 0)) > 0 else 0) > 1
    return occupied + (int(summary.get("below", 0)) > 0) + (int(summary.get("above", 0)) > 0) > 1


def _is_number(table: pa.Table, name: str) -> bool:
    kind = table.schema.field(name).type
    return pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
