"""What a person sees: ``arlequin watch`` on a terminal (a real pseudo-terminal), and JSON off it."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import sys
import time
from pathlib import Path

import pytest
import structlog

from arlequin_core.console import MAX_LINE
from arlequin_core.events import BatchChecked, DriftDetected, ModelRegistered
from arlequin_core.logs import configure_logging, get_logger

from .conftest import TESTS_DIR, land

ANSI = re.compile(r"\x1b\[[0-9;]*m")
CONFIG = """
[arlequin]
journal_fsync = false

[watch]
sweep_interval = 0.1
drain_timeout = 20
heartbeat = 1
consumers = ["watch.consumers:factory"]
"""


class Terminal:
    """``arlequin ARGS`` with a pseudo-terminal as its stdin, stdout and stderr."""

    def __init__(self, cwd: Path, *args: str, env: dict[str, str] | None = None) -> None:
        environ = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "CI")}
        environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS_DIR), environ.get("PYTHONPATH")]))
        environ.update(env or {})
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: a terminal of its own
            os.chdir(cwd)
            os.execve(sys.executable, [sys.executable, "-m", "arlequin_core.cli", *args], environ)
        self.text = ""

    def read_until(self, pattern: str, timeout: float = 90.0) -> str:
        deadline = time.monotonic() + timeout
        while not re.search(pattern, ANSI.sub("", self.text)):
            if time.monotonic() > deadline:
                raise AssertionError(f"no {pattern!r} within {timeout:.0f} s in:\n{self.text}")
            if not self._read(0.2):
                raise AssertionError(f"the process ended without {pattern!r}:\n{self.text}")
        return self.text

    def _read(self, wait: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], wait)
        if ready:
            try:
                data = os.read(self.fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                return False
            if not data:
                return False
            self.text += data.decode("utf-8", "replace")
        return True

    def stop(self) -> int:
        os.kill(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and self._read(0.2):  # keep reading: a full terminal blocks it
            pass
        done, status = os.waitpid(self.pid, os.WNOHANG)
        while not done and time.monotonic() < deadline:  # the terminal closes before the exit status
            time.sleep(0.1)
            done, status = os.waitpid(self.pid, os.WNOHANG)
        if not done:
            os.kill(self.pid, signal.SIGKILL)
            _, status = os.waitpid(self.pid, 0)
            raise AssertionError(f"still running 90 s after SIGTERM:\n{self.text[-3000:]}")
        os.close(self.fd)
        return os.waitstatus_to_exitcode(status)


@pytest.fixture
def terminals():
    started: list[Terminal] = []
    yield started
    for t in started:
        try:
            os.kill(t.pid, signal.SIGKILL)
            os.waitpid(t.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


def _lines(text: str) -> list[str]:
    return [line for line in text.replace("\r\n", "\n").split("\n") if line.strip()]


def test_watch_on_a_terminal_prints_one_short_line_per_batch_and_a_heartbeat(isolated: Path, terminals) -> None:
    (isolated / "arlequin.toml").write_text(CONFIG)
    landing = isolated / "landing"
    landing.mkdir()
    term = Terminal(isolated, "watch", "landing")  # --log-format auto: console on a terminal
    terminals.append(term)
    term.read_until(r"watcher started")
    land(landing / "good.parquet")
    term.read_until(r"good\.parquet: no drift")
    (landing / "bad.parquet").write_bytes(b"PAR1 this is not parquet")
    term.read_until(r"bad\.parquet: REJECTED")
    term.read_until(rf"watching {re.escape(str(landing))}: 2 batches, last \d\d:\d\d:\d\d")
    assert term.stop() == 0
    lines = _lines(term.text)
    plain = [ANSI.sub("", line) for line in lines]
    assert not [line for line in plain if line.lstrip().startswith("{")], plain  # no JSON on a terminal
    assert max(len(line) for line in plain) <= MAX_LINE, max(plain, key=len)
    assert sum("good.parquet" in line for line in plain) == 1  # one line per batch (data-arrived is quiet)
    (rejected,) = [line for line in plain if "bad.parquet" in line]
    assert re.search(r"`arlequin retry [0-9a-f]+` checks it again", rejected), rejected
    assert "\x1b[" in term.text  # a terminal, NO_COLOR unset: colors


def test_no_color_turns_colors_off_on_a_terminal(isolated: Path, terminals) -> None:
    (isolated / "arlequin.toml").write_text(CONFIG)
    (isolated / "landing").mkdir()
    term = Terminal(isolated, "watch", "landing", env={"NO_COLOR": "1"})
    terminals.append(term)
    term.read_until(r"watching .*: 0 batches, last none yet")
    assert term.stop() == 0
    assert "\x1b[" not in term.text


def test_log_format_json_on_a_terminal_is_one_json_object_per_line(isolated: Path, terminals) -> None:
    (isolated / "arlequin.toml").write_text(CONFIG)
    landing = isolated / "landing"
    landing.mkdir()
    term = Terminal(isolated, "--log-format", "json", "watch", "landing")
    terminals.append(term)
    term.read_until(r'"watcher_started"')
    land(landing / "good.parquet")
    term.read_until(r'"event": "batch-checked"')
    term.read_until(r'"batches": 1,.*"event": "heartbeat"')
    assert term.stop() == 0
    records = [json.loads(line) for line in _lines(term.text) if line != "watcher stopped cleanly"]
    beat = [r for r in records if r["event"] == "heartbeat"][-1]
    assert beat["watching"] == [str(landing)] and beat["last_batch_at"].endswith("+00:00")
    assert any(r["event"] == "data-arrived" for r in records)  # machines get everything


@pytest.fixture
def console(capsys):
    def lines() -> list[str]:
        return [ANSI.sub("", line) for line in capsys.readouterr().err.splitlines()]

    yield lines
    structlog.reset_defaults()


def test_a_drifted_batch_and_its_retrain_read_as_one_line_each(console) -> None:
    """The events as the ``log`` plugin logs them, and the retrain's steps, rendered for a person."""
    from arlequin_log.plugin import arlequin_on_event

    configure_logging("console", "info")
    columns = tuple(f"a_rather_long_column_name_number_{i:02d}" for i in range(40))
    report = "/data/.arlequin/reports/0123456789abcdef.json"
    checked = BatchChecked(
        batch_id="0123456789abcdef",
        uri="/data/incoming/batch-00007.parquet",
        drifted=True,
        drift_share=0.8,
        drifted_columns=columns,
        report_uri=report,
        model_version="3",
    )
    drift = DriftDetected(
        batch_id=checked.batch_id, uri=checked.uri, reason="80% of columns", drift_share=0.8, drifted_columns=columns
    )
    metrics = {"roc_auc": 0.91234, "pr_auc": 0.4, "f1": 0.3, "precision": 0.5, "recall": 0.2, "log_loss": 0.1}
    registered = ModelRegistered(
        model_name="m", model_version="4", run_id="r" * 32, promoted=True, reason="not significantly worse",
        metrics=metrics, validation={"metric": "roc_auc", "challenger": 0.91, "champion": 0.9},
    )  # fmt: skip
    for event in (checked, drift):
        arlequin_on_event(event)
    flow = get_logger("arlequin_core.training.flow")
    flow.info("retrain_started", data_uris=["/d/a", "/d/b"], batch_ids=["x", "0123456789abcdef"], cause_batch="0123")
    flow.info("model_trained", rows={"train": 8000, "heldout": 2000}, metrics=metrics, seconds=21.4)
    flow.info(
        "model_validated", metric="roc_auc", challenger=0.91, champion=0.9, champion_version="3", rows=2000, passed=True
    )
    arlequin_on_event(registered)
    flow.info("model_registered", model="m", version="4", promoted=True, reason="not significantly worse")
    lines = console()
    assert len(lines) == 5, lines  # batch, started, trained, validated, promoted: no repeats
    batch, started, trained, validated, promoted = lines
    assert all(len(line) <= MAX_LINE for line in lines), lines
    assert "batch-00007.parquet: DRIFT  drift share 80% (40 columns: a_rather_long_column_name_number_00" in batch
    assert "more)" in batch and batch.endswith("report: /data/.arlequin/reports/0123456789abcdef.html")
    assert ".json" not in "\n".join(lines)
    assert "retrain started  training on 2 batch(es) for drift in 0123" in started
    assert "8,000 rows in 21 s; held-out (2,000 rows): roc_auc 0.912" in trained
    assert sum("roc_auc 0.912" in line for line in lines) == 1  # the metrics once
    assert "roc_auc 0.910 vs 0.900 (version 3) on 2000 held-out rows: passed" in validated
    assert "retrain version 4 PROMOTED to champion  not significantly worse" in promoted


def test_other_records_are_clipped_to_the_line_width(console) -> None:
    configure_logging("console", "info")
    get_logger("x").warning("something_odd", detail={"k": "v" * 5000}, other="w" * 5000, more=list(range(500)))
    (line,) = console()
    assert "something_odd" in line and len(line) <= MAX_LINE and line.endswith("…")
