"""Writing a stream of batches and its manifest to a local directory or any fsspec URI.

Each batch is written under a hidden temporary name and then renamed
(:func:`arlequin_core.io.write_table_atomic`), so a watcher never sees a partial
file; names sort in order (``batch-00000.parquet``). ``manifest.json`` is rewritten
the same way after every batch, so it always describes exactly the batches that
exist, and says ``"complete": true`` once the last one is written.
"""

from __future__ import annotations

import json
import posixpath
import re
import sys
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import fsspec

from arlequin_core import __version__
from arlequin_core.errors import ArlequinError
from arlequin_core.io import filesystem, guess_format, write_table_atomic
from arlequin_synth import schema, truth
from arlequin_synth.generator import DEFAULT_START, TransactionGenerator

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1
FORMATS = ("parquet", "csv")
_OURS = re.compile(r"^(batch-\d+\.(parquet|csv)|manifest\.json|\.(batch-\d+\.(parquet|csv)|manifest\.json)\.tmp)$")
#: Above this many rows in total a progress bar is shown even when not on a terminal.
LONG_RUN_ROWS = 5_000_000


class OutputError(ArlequinError):
    """The output location cannot be used (exists with batches, not writable, ...)."""


def batch_name(index: int, fmt: str = "parquet") -> str:
    """The file name of batch ``index``: ``batch-00003.parquet`` (sorts in order)."""
    return f"batch-{index:05d}.{fmt}"


def generate_batches(
    out: str,
    *,
    rows: int = 10_000,
    batches: int = 10,
    scenario: Any = "none",
    seed: int = 0,
    fmt: str = "parquet",
    interval: float = 0.0,
    reference: str | None = None,
    reference_rows: int | None = None,
    overwrite: bool = False,
    progress: bool | None = None,
    start_date: date = DEFAULT_START,
    on_batch: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Generate ``batches`` batches of ``rows`` transactions into directory ``out``.

    :param out: a directory path or fsspec URI (``file://``, ``memory://``, ``hdfs://``...).
    :param rows: rows per batch, >= 1.
    :param batches: number of batches, >= 1.
    :param scenario: a drift scenario (see :mod:`arlequin_synth.scenario`).
    :param seed: same seed, same bytes (for the same versions of Arlequin, numpy, pyarrow).
    :param fmt: ``parquet`` or ``csv``.
    :param interval: seconds to wait between batches (a live demo), >= 0.
    :param reference: where to write an undrifted reference batch first (file URI; CSV
        when it ends in ``.csv``, else Parquet). ``None``: no reference.
    :param reference_rows: rows in the reference (default ``rows``); needs ``reference``.
    :param overwrite: replace batches and manifest already in ``out`` (other files stay).
    :param progress: show a progress bar; ``None``: on a terminal or for long runs.
    :param start_date: the UTC day of batch 0 (one batch per day).
    :param on_batch: called with each batch's manifest entry once it is written.
    :returns: the manifest (also written to ``out/manifest.json``).
    :raises ScenarioError: bad scenario. :raises OutputError: unusable ``out``.
    :raises ValueError: bad numbers or format.
    """
    _check_arguments(rows, batches, fmt, interval, reference, reference_rows)
    generator = TransactionGenerator(scenario, seed, start_date)
    generator.scenario.check_batches(batches)
    fs, root = _prepare(out, overwrite)
    compare_rows = reference_rows or rows
    manifest = _manifest_head(generator, rows, batches, fmt, start_date)
    if reference is not None:
        ref = generator.draw(None, compare_rows)
        _write(ref.table, reference, guess_format(reference))
        manifest["reference"] = {"uri": reference, "rows": compare_rows, "fraud_rate": ref.truth["fraud_rate"]}
    bar = _progress_bar(progress, batches, rows)
    try:
        for index in range(batches):
            if index and interval:
                time.sleep(interval)
            batch = generator.draw(index, rows, compare_rows)
            name = batch_name(index, fmt)
            _write(batch.table, f"{out.rstrip('/')}/{name}", fmt)
            entry = {"index": index, "file": name, "rows": rows, **batch.truth}
            manifest["batches"].append(entry)
            manifest["complete"] = index == batches - 1
            _write_json(fs, posixpath.join(root, MANIFEST_NAME), manifest, out)
            if on_batch is not None:
                on_batch(entry)
            if bar is not None:
                bar.set_postfix_str(f"drifted: {', '.join(entry['drifted_columns']) or '-'}", refresh=False)
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return manifest


def _check_arguments(
    rows: int, batches: int, fmt: str, interval: float, reference: str | None, reference_rows: int | None
) -> None:
    if rows < 1:
        raise ValueError(f"rows must be >= 1, got {rows}")
    if batches < 1:
        raise ValueError(f"batches must be >= 1, got {batches}")
    if fmt not in FORMATS:
        raise ValueError(f"format must be parquet or csv, got {fmt!r}")
    if not interval >= 0:
        raise ValueError(f"interval must be >= 0 seconds, got {interval}")
    if reference_rows is not None and reference is None:
        raise ValueError("reference_rows needs reference (where to write the reference batch)")
    if reference_rows is not None and reference_rows < 1:
        raise ValueError(f"reference_rows must be >= 1, got {reference_rows}")


def _prepare(out: str, overwrite: bool) -> tuple[fsspec.AbstractFileSystem, str]:
    """Open ``out``, refuse (or clear, with ``overwrite``) a previous run's files."""
    try:
        fs, root = filesystem(out)
        if fs.exists(root) and not fs.isdir(root):
            raise OutputError(f"{out}: exists and is not a directory")
        existing = [
            p for p in (fs.ls(root, detail=False) if fs.exists(root) else []) if _OURS.match(posixpath.basename(p))
        ]
        if existing and not overwrite:
            raise OutputError(
                f"{out}: already holds {len(existing)} batch or manifest file(s) from an earlier run; "
                "pass --overwrite (overwrite=True) to replace them, or choose another --out"
            )
        for path in existing:
            fs.rm(path)
        fs.makedirs(root, exist_ok=True)
    except (OSError, ValueError, ImportError) as exc:
        raise OutputError(f"{out}: cannot use this location: {exc}") from None
    return fs, root


def _write(table: Any, uri: str, fmt: str) -> None:
    try:
        write_table_atomic(table, uri, fmt)  # type: ignore[arg-type]
    except (OSError, ValueError, ImportError) as exc:
        raise OutputError(f"{uri}: cannot write: {exc}") from None


def _write_json(fs: fsspec.AbstractFileSystem, path: str, data: dict[str, Any], shown: str) -> None:
    """Write JSON under ``.<name>.tmp``, then rename: readers see the old or the new file."""
    tmp = posixpath.join(posixpath.dirname(path), f".{posixpath.basename(path)}.tmp")
    try:
        with fs.open(tmp, "wb") as f:
            f.write((json.dumps(data, indent=2) + "\n").encode())
        fs.mv(tmp, path)
    except OSError as exc:
        raise OutputError(f"{shown}: cannot write {MANIFEST_NAME}: {exc}") from None


def _manifest_head(
    generator: TransactionGenerator, rows: int, batches: int, fmt: str, start_date: date
) -> dict[str, Any]:
    return {
        "format_version": MANIFEST_VERSION,
        "generator": {"name": "arlequin_synth", "version": __version__},
        "seed": generator.seed,
        "scenario": generator.scenario.spec,
        "rows": rows,
        "batches_planned": batches,
        "format": fmt,
        "start_date": start_date.isoformat(),
        "columns": {
            "id": list(schema.ID_COLUMNS),
            "timestamp": schema.TIMESTAMP,
            "label": schema.LABEL,
            "features": list(schema.FEATURE_COLUMNS),
            "numeric": list(schema.NUMERIC_COLUMNS),
            "categorical": list(schema.CATEGORICAL_COLUMNS),
        },
        "effects": {
            "numeric": "max(|change of null rate|, Kolmogorov-Smirnov distance of the non-null population CDFs)",
            "categorical": "max(|change of null rate|, total variation distance of the non-null frequencies)",
            "min_effect": truth.MIN_EFFECT,
            "noise_multiple": truth.NOISE_MULTIPLE,
        },
        "reference": None,
        "complete": False,
        "batches": [],
    }


def show_progress(progress: bool | None, batches: int, rows: int) -> bool:
    """Whether to show a progress bar: as asked, else on a terminal or for a long run."""
    if progress is not None:
        return progress
    return sys.stderr.isatty() or rows * batches >= LONG_RUN_ROWS


def _progress_bar(progress: bool | None, batches: int, rows: int) -> Any:
    if not show_progress(progress, batches, rows):
        return None
    from tqdm import tqdm

    # Off a terminal (a CI log), redraw rarely so the log stays readable.
    interval = 0.1 if sys.stderr.isatty() else 10.0
    return tqdm(total=batches, unit="batch", desc="generate", mininterval=interval, file=sys.stderr)
