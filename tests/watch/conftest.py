"""Fixtures for the watcher's tests: an app on a temporary home, a landing directory,
batch writers, and a daemon with the real :class:`ReadCheck` consumer."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from arlequin_core.app import App
from arlequin_core.config import load_config
from arlequin_core.daemon import Daemon
from arlequin_core.events import Event
from arlequin_core.io import write_table_atomic
from arlequin_core.journal import read_journal

from .consumers import ReadCheck

TESTS_DIR = Path(__file__).resolve().parents[1]

CONFIG = """
[arlequin]
log_format = "json"
journal_fsync = false

[watch]
sweep_interval = 0.1
drain_timeout = 20
consumers = ["watch.consumers:factory"]
"""


def table(rows: int = 10, start: int = 0) -> pa.Table:
    """A small batch with columns ``x`` (int) and ``y`` (float)."""
    x = list(range(start, start + rows))
    return pa.table({"x": x, "y": [v / 2 for v in x]})


def land(path: Path, rows: int = 10, start: int = 0) -> Path:
    """Write a Parquet batch the way producers should: temp name, then rename."""
    write_table_atomic(table(rows, start), str(path))
    return path


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def journal_events(home: Path, name: str | None = None) -> list[Event]:
    """The events in ``home``'s journal (of one name)."""
    return [e for e in read_journal(home / "journal.jsonl") if name is None or e.name == name]


def write_parquet_slowly(path: Path, chunks: int, pause: float, on_chunk: Callable[[int], None]) -> int:
    """Write a Parquet file under its final name in ``chunks`` flushed pieces; return its size."""
    data = pa.BufferOutputStream()
    pq.write_table(table(5000), data)
    payload = data.getvalue().to_pybytes()
    step = len(payload) // chunks + 1
    with open(path, "wb") as f:
        for i in range(chunks):
            f.write(payload[i * step : (i + 1) * step])
            f.flush()
            os.fsync(f.fileno())
            time.sleep(pause)
            on_chunk(i)
    return len(payload)


@pytest.fixture
def config_file(isolated: Path) -> Path:
    """``arlequin.toml`` in the test's directory: JSON logs, quick sweeps, the test consumer."""
    path = isolated / "arlequin.toml"
    path.write_text(CONFIG)
    return path


@pytest.fixture
def app(config_file: Path) -> Iterator[App]:
    """An app on the test's own home (``./.arlequin``)."""
    application = App(load_config(config_file))
    yield application
    application.close()


@pytest.fixture
def landing(isolated: Path) -> Path:
    """The directory batches land in."""
    path = isolated / "landing"
    path.mkdir()
    return path


@pytest.fixture
def start_daemon() -> Iterator[Callable[..., Daemon]]:
    """Start a :class:`Daemon` (stopped at teardown if the test did not)."""
    started: list[Daemon] = []

    def start(app: App, sources: list[Any], consumer: ReadCheck | None = None, **kwargs: Any) -> Daemon:
        daemon = Daemon(app, sources=sources, consumers=[consumer or ReadCheck(app)], **kwargs)
        daemon.start()
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        if daemon.ledger is not None or daemon._started:
            daemon.stop(timeout=5)
