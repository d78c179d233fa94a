"""``arlequin watch`` as a real process (signals, crash, restart), ``status`` and ``retry``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from arlequin_core.app import App
from arlequin_core.cli import main
from arlequin_core.daemon import Daemon
from arlequin_core.ledger import Batch, open_ledger

from .conftest import TESTS_DIR, journal_events, land, wait_for
from .consumers import ReadCheck
from .test_daemon import _local

HOME = Path(".arlequin")


class Watcher:
    """``arlequin watch landing`` in a subprocess of its own."""

    def __init__(self, cwd: Path, *args: str, slow: str = "") -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS_DIR), env.get("PYTHONPATH")]))
        env["ARLEQUIN_TEST_SLOW"] = slow
        self.log = cwd / f"watch-{os.urandom(3).hex()}.log"
        with open(self.log, "wb") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "arlequin_core.cli", "watch", "landing", *args],
                cwd=cwd,
                env=env,
                stdout=stderr,
                stderr=stderr,
            )

    def output(self) -> str:
        return self.log.read_text()

    def wait_ready(self, landing: Path, name: str) -> None:
        """Land a probe batch and wait for its verdict: the whole pipeline is up."""
        land(landing / name)
        wait_for(lambda: _verdict(name) or self.proc.poll() is not None, timeout=60, what="the watcher to start")
        assert self.proc.poll() is None, self.output()

    def signal(self, sig: int) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=60)


def _verdict(name: str) -> bool:
    return any(Path(e.uri).name == name for e in journal_events(HOME, "batch-checked"))


def _arrived(name: str) -> int:
    return sum(Path(e.uri).name == name for e in journal_events(HOME, "data-arrived"))


def _batches() -> dict[str, Batch]:
    with open_ledger(HOME) as ledger:
        return {Path(b.uri).name: b for b in ledger.batches()}


@pytest.fixture
def watchers() -> Iterator[list[Watcher]]:
    started: list[Watcher] = []
    yield started
    for w in started:
        if w.proc.poll() is None:
            w.proc.kill()
            w.proc.wait()


def test_sigterm_drains_the_batch_in_flight_keeps_pending_ones_and_exits_0(
    isolated: Path, config_file: Path, landing: Path, watchers: list[Watcher]
) -> None:
    w = Watcher(isolated, "--max-in-flight", "1", slow="slow=2")
    watchers.append(w)
    w.wait_ready(landing, "00-probe.parquet")
    land(landing / "01-slow.parquet")
    wait_for(lambda: _arrived("01-slow.parquet"), what="the slow batch to be handed out")
    land(landing / "02-next.parquet")
    land(landing / "03-next.parquet")
    wait_for(lambda: len(_batches()) == 4, what="the ledger to see all batches")
    assert w.signal(signal.SIGTERM) == 0, w.output()
    assert _verdict("01-slow.parquet")  # the batch in flight got its verdict before exit
    states = {name: b.state for name, b in _batches().items()}
    assert states == {
        "00-probe.parquet": "done",
        "01-slow.parquet": "done",
        "02-next.parquet": "seen",
        "03-next.parquet": "seen",
    }
    assert "watcher stopped cleanly" in w.output() and '"signal": "SIGTERM"' in w.output()

    w2 = Watcher(isolated)  # the pending ones are not lost
    watchers.append(w2)
    wait_for(lambda: _verdict("03-next.parquet"), timeout=60, what="the pending batches")
    assert w2.signal(signal.SIGINT) == 0, w2.output()
    assert [_arrived(n) for n in sorted(states)] == [1, 1, 1, 1]


def test_crash_mid_batch_reprocesses_it_on_restart_and_never_a_done_one(
    isolated: Path, config_file: Path, landing: Path, watchers: list[Watcher]
) -> None:
    w = Watcher(isolated, slow="slow=120")
    watchers.append(w)
    w.wait_ready(landing, "a.parquet")
    land(landing / "slow.parquet")
    wait_for(lambda: _arrived("slow.parquet"), what="the slow batch to be handed out")
    assert w.signal(signal.SIGKILL) == -signal.SIGKILL  # the machine dies mid-batch
    assert {n: b.state for n, b in _batches().items()} == {"a.parquet": "done", "slow.parquet": "processing"}
    land(landing / "c.parquet")  # lands while nobody watches

    w2 = Watcher(isolated)
    watchers.append(w2)
    wait_for(lambda: _verdict("slow.parquet") and _verdict("c.parquet"), timeout=60, what="recovery")
    assert w2.signal(signal.SIGTERM) == 0, w2.output()
    assert (_arrived("a.parquet"), _arrived("slow.parquet"), _arrived("c.parquet")) == (1, 2, 1)
    batches = _batches()
    assert {n: b.state for n, b in batches.items()} == {n: "done" for n in ("a.parquet", "slow.parquet", "c.parquet")}
    assert batches["slow.parquet"].attempts == 2 and batches["a.parquet"].attempts == 1
    assert "batches_recovered" in w2.output()


def test_watch_without_sources_says_what_to_do(isolated: Path) -> None:
    result = CliRunner().invoke(main, ["watch"])
    assert result.exit_code == 2 and "nothing to watch" in result.output


def test_watch_of_a_missing_directory_fails_before_anything_starts(isolated: Path) -> None:
    """No sink started, no lock, ledger or journal made: only the error naming the path."""
    proc = subprocess.run(
        [sys.executable, "-m", "arlequin_core.cli", "--log-format", "json", "watch", "does/not/exist"],
        cwd=isolated,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    missing = isolated / "does" / "not" / "exist"
    assert f"error: sources.local.path: {missing} does not exist; create it (mkdir -p) or fix the path" in proc.stderr
    assert "sink_started" not in proc.stderr, proc.stderr
    assert not (isolated / ".arlequin").exists()


def test_bad_consumer_spec_is_a_config_error(isolated: Path) -> None:
    (isolated / "landing").mkdir()
    (isolated / "arlequin.toml").write_text('[watch]\nconsumers = ["no_such_module:factory"]\n')
    result = CliRunner().invoke(main, ["watch", "landing"])
    assert result.exit_code == 2 and "cannot load 'no_such_module:factory'" in result.output


def _process(app: App, landing: Path, names: list[str], columns: list[str]) -> None:
    """Run an in-process daemon until ``names`` have verdicts (ReadCheck requiring ``columns``)."""
    daemon = Daemon(app, sources=[_local(landing)], consumers=[ReadCheck(app, columns=columns)])
    daemon.start()

    def finished() -> int:
        counts = daemon.ledger.counts()
        return counts["done"] + counts["rejected"]

    try:
        before = finished()
        for name in names:
            land(landing / name)
        wait_for(lambda: finished() == before + len(names), what="verdicts")
    finally:
        assert daemon.stop() == []


def test_status_shows_counts_rejected_batches_and_last_events(app: App, landing: Path) -> None:
    _process(app, landing, ["a.parquet", "b.parquet"], columns=["x"])
    _process(app, landing, ["c.parquet"], columns=["nope"])
    result = CliRunner().invoke(main, ["status", "--events", "3"])
    assert result.exit_code == 0, result.output
    assert "watcher:   not running" in result.output
    assert "batches:   0 pending, 0 processing, 2 done (0 drifted), 1 rejected" in result.output
    assert "champion:  none yet" in result.output
    assert "c.parquet" in result.output and "missing column" in result.output
    assert "last 3 events:" in result.output and "batch-rejected" in result.output
    data = json.loads(CliRunner().invoke(main, ["status", "--json", "--events", "5"]).output)
    assert data["ledger"] == {"seen": 0, "processing": 0, "done": 2, "rejected": 1, "drifted": 0}
    assert data["watcher"] == {"running": False, "pid": None} and data["champion"] is None
    assert [e["name"] for e in data["events"]][-1] == "batch-rejected" and len(data["events"]) == 5
    assert data["rejected"][0]["uri"].endswith("c.parquet")


def test_retry_without_a_watcher_processes_the_batch_here(app: App, landing: Path) -> None:
    _process(app, landing, ["a.parquet"], columns=["x", "z"])
    (batch,) = _batches().values()
    assert batch.state == "rejected"
    runner = CliRunner()
    again = runner.invoke(main, ["retry", batch.batch_id[:8]], env={"ARLEQUIN_TEST_COLUMNS": "x,z"})
    assert again.exit_code == 2 and "rejected" in again.output  # same cause, same verdict
    fixed = runner.invoke(main, ["retry", "landing/a.parquet"], env={"ARLEQUIN_TEST_COLUMNS": "x"})
    assert fixed.exit_code == 0, fixed.output
    assert f"{batch.batch_id}  {landing / 'a.parquet'}: done" in fixed.output
    assert _batches()["a.parquet"].attempts == 3
    unknown = runner.invoke(main, ["retry", "ffffffff"])
    assert unknown.exit_code == 2 and "no batch matches 'ffffffff'" in unknown.output


def test_retry_with_a_watcher_running_leaves_the_batch_to_it(app: App, landing: Path, start_daemon) -> None:
    consumer = ReadCheck(app, columns=["x", "z"])
    daemon = start_daemon(app, [_local(landing)], consumer)
    land(landing / "a.parquet")
    wait_for(lambda: daemon.ledger.counts()["rejected"] == 1, what="rejection")
    consumer.columns = ["x"]
    result = CliRunner().invoke(main, ["retry", str(landing / "a.parquet")])
    assert result.exit_code == 0, result.output
    assert f"pending again; the running watcher (pid {os.getpid()}) picks it up" in result.output
    wait_for(lambda: daemon.ledger.counts()["done"] == 1, what="the running daemon to process it")


def test_status_and_history_escape_names_that_could_forge_lines_or_move_the_cursor(app: App, landing: Path) -> None:
    from arlequin_core.drift.report import DriftReport

    forged = "x.parquet\n  0123456789abcdef  /etc/fake.parquet: done \x1b[2J.parquet"
    _process(app, landing, [forged], columns=["nope"])  # rejected: its name is in the reason too
    status = CliRunner().invoke(main, ["status", "--events", "5"])
    assert status.exit_code == 0, status.output
    assert "\x1b" not in status.output and "/etc/fake.parquet: done \\x1b[2J" in status.output
    assert not any(line.lstrip().startswith("0123456789abcdef") for line in status.output.splitlines())
    assert "x.parquet\\n  0123456789abcdef" in status.output
    reports = app.home / "reports"
    reports.mkdir(parents=True)
    report = DriftReport(True, 1.0, ["a\x1b[31m"], "r", [], 10, 10, "holm", 0.5, uri=str(landing / forged))
    (reports / "b.json").write_text(report.to_json())
    history = CliRunner().invoke(main, ["history"])
    assert history.exit_code == 0, history.output
    assert "\x1b" not in history.output and "x.parquet\\n  0123456789abcdef" in history.output


def test_an_unset_variable_in_a_plugin_section_reaches_the_user_instead_of_no_such_command(isolated: Path) -> None:
    (isolated / "landing").mkdir()
    config = isolated / "x.toml"
    config.write_text('[sinks.jenkins]\nenabled = true\nurl = "http://ci/"\njob = "j"\nuser = "u"\n')
    config.write_text(config.read_text() + 'token = "${ARL_TEST_UNSET_WATCH_TOKEN}"\n')
    result = CliRunner().invoke(main, ["--config", str(config), "watch", "landing"])
    assert result.exit_code == 2
    assert "No such command" not in result.output
    assert "sinks.jenkins.token: environment variable ARL_TEST_UNSET_WATCH_TOKEN is not set" in result.output


def test_retry_of_a_replaced_file_checks_its_new_content_once_under_one_id(app: App, landing: Path) -> None:
    _process(app, landing, ["a.parquet"], columns=["x", "z"])  # rejected: no column z
    (old,) = _batches().values()
    land(landing / "a.parquet", rows=5, start=100)  # replaced while no watcher runs
    runner = CliRunner()
    first = runner.invoke(main, ["retry", old.batch_id], env={"ARLEQUIN_TEST_COLUMNS": "x"})
    assert first.exit_code == 0, first.output
    assert "the file was replaced since" in first.output and "processing that one" in first.output
    again = runner.invoke(main, ["retry", old.batch_id], env={"ARLEQUIN_TEST_COLUMNS": "x"})
    assert again.exit_code == 0 and "(done): nothing to retry" in again.output
    _process(app, landing, [], columns=["x"])  # a watcher starts: the new content is known already
    arrived = [e for e in journal_events(HOME, "data-arrived") if e.uri.endswith("a.parquet")]
    assert len(arrived) == 2  # the old content once, the new content once
    with open_ledger(HOME) as ledger:
        assert sorted(b.state for b in ledger.batches()) == ["done", "rejected"]


@pytest.mark.parametrize("setup", ["directory", "not-a-database"])
def test_status_names_the_ledger_it_cannot_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setup: str) -> None:
    """A home whose ledger cannot be opened (tests run as root: chmod would not stop writes)."""
    monkeypatch.chdir(tmp_path)
    ledger = tmp_path / HOME / "ledger.db"
    if setup == "directory":
        ledger.mkdir(parents=True)
    else:
        ledger.parent.mkdir(parents=True)
        ledger.write_bytes(b"not sqlite at all " * 100)
    result = CliRunner().invoke(main, ["status"])
    assert result.exit_code == 2, result.output
    assert f"{ledger}: cannot open the ledger" in result.output, result.output
    assert "internal error" not in result.output
