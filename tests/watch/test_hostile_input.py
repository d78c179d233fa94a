"""Hostile names and links in the landing directory: found by an adversarial run (issue 20).

Real inotify, real ledger, the real ReadCheck consumer.
"""

from __future__ import annotations

import os
from pathlib import Path

from arlequin_core.app import App
from arlequin_watch.local import LocalSource
from arlequin_watch.poll import PollSource

from .conftest import journal_events, land, wait_for
from .consumers import ReadCheck


def _bad_name(directory: Path) -> bytes:
    """The path of a file whose name is not valid UTF-8 (``bad\\xff.parquet``), as bytes."""
    return os.fsencode(str(directory)) + b"/bad\xff.parquet"


def _write_bad(directory: Path, good: Path) -> None:
    with open(_bad_name(directory), "wb") as f:
        f.write(good.read_bytes())


def _verdicts(daemon, n: int) -> None:
    wait_for(lambda: daemon.ledger.counts()["done"] + daemon.ledger.counts()["rejected"] == n, what=f"{n} verdicts")


def test_a_non_utf8_name_already_there_does_not_stop_the_start_and_is_rejected_safely(
    app: App, landing: Path, start_daemon
) -> None:
    land(landing / "good.parquet")
    _write_bad(landing, landing / "good.parquet")
    daemon = start_daemon(app, [LocalSource({"path": str(landing), "settle": 0.2}, instance="landing")])
    _verdicts(daemon, 2)
    states = {b.uri: (b.state, b.reason) for b in daemon.ledger.batches()}
    shown = f"{landing}/bad\\xff.parquet"
    assert states[str(landing / "good.parquet")][0] == "done"
    state, reason = states[shown]
    assert state == "rejected" and shown in reason and "not valid UTF-8" in reason and "rename" in reason
    (event,) = journal_events(app.home, "batch-rejected")
    assert event.uri == shown


def test_a_non_utf8_name_landing_while_running_is_rejected_once_and_a_restart_keeps_it(
    app: App, landing: Path, start_daemon
) -> None:
    source = LocalSource({"path": str(landing), "settle": 0.2}, instance="landing")
    daemon = start_daemon(app, [source])
    land(landing / "good.parquet")
    _write_bad(landing, landing / "good.parquet")
    _verdicts(daemon, 2)
    assert daemon.ledger.counts()["rejected"] == 1
    daemon.stop()
    again = start_daemon(app, [LocalSource({"path": str(landing), "settle": 0.2}, instance="landing")])
    assert again.wait_idle(10)
    assert again.ledger.counts()["rejected"] == 1 and len(again.ledger.batches()) == 2  # same id: not twice
    assert len(journal_events(app.home, "batch-rejected")) == 1


def test_the_poll_source_rejects_a_non_utf8_name_too(app: App, landing: Path, start_daemon) -> None:
    land(landing / "good.parquet")
    _write_bad(landing, landing / "good.parquet")
    poll = PollSource({"uri": f"file://{landing}", "interval": 0.05}, instance="poll")
    daemon = start_daemon(app, [poll])
    _verdicts(daemon, 2)
    (rejected,) = daemon.ledger.batches(["rejected"])
    assert "bad\\xff.parquet" in rejected.uri and "not valid UTF-8" in rejected.reason


def _outside(isolated_dir: Path) -> Path:
    """A valid Parquet batch outside the landing directory."""
    elsewhere = isolated_dir / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    return land(elsewhere / "private.parquet", rows=7)


def _link_states(daemon) -> dict[str, tuple[str, str | None]]:
    return {Path(b.uri).name: (b.state, b.reason) for b in daemon.ledger.batches()}


def test_links_leaving_the_tree_are_refused_at_scan_time_and_links_inside_are_read(
    app: App, landing: Path, start_daemon
) -> None:
    private = _outside(landing.parent)
    (landing / "out.parquet").symlink_to(private)
    (landing / "passwd.parquet").symlink_to("/etc/passwd")
    (landing / "sub").mkdir()
    inner = land(landing / "sub" / "real.parquet")
    (landing / "alias.parquet").symlink_to(inner)
    consumer = ReadCheck(app)
    daemon = start_daemon(app, [LocalSource({"path": str(landing), "settle": 0.2}, instance="landing")], consumer)
    _verdicts(daemon, 4)
    states = _link_states(daemon)
    assert states["real.parquet"][0] == "done" and states["alias.parquet"][0] == "done"
    for name, target in [("out.parquet", str(private)), ("passwd.parquet", "/etc/passwd")]:
        state, reason = states[name]
        assert state == "rejected" and target in reason and "sources.landing.follow_symlinks" in reason
    assert sorted(Path(e.uri).name for e in consumer.arrived) == ["alias.parquet", "real.parquet"]  # never opened


def test_links_moved_or_created_while_running_follow_the_same_policy(app: App, landing: Path, start_daemon) -> None:
    private = _outside(landing.parent)
    consumer = ReadCheck(app)
    daemon = start_daemon(app, [LocalSource({"path": str(landing), "settle": 0.2}, instance="landing")], consumer)
    staged = landing.parent / "staged.parquet"
    staged.symlink_to(private)
    staged.rename(landing / "moved.parquet")  # `ln -s ... /tmp/l.parquet && mv /tmp/l.parquet incoming/`
    (landing / "made.parquet").symlink_to(private)  # `ln -s` in place: only a create event
    inner = land(landing.parent / "inside.parquet")
    inner.rename(landing / "inside.parquet")
    (landing / "inside-alias.parquet").symlink_to(landing / "inside.parquet")
    _verdicts(daemon, 4)
    states = _link_states(daemon)
    assert states["moved.parquet"][0] == "rejected" and states["made.parquet"][0] == "rejected"
    assert states["inside.parquet"][0] == "done" and states["inside-alias.parquet"][0] == "done"
    assert sorted(Path(e.uri).name for e in consumer.arrived) == ["inside-alias.parquet", "inside.parquet"]


def test_follow_symlinks_reads_links_that_leave_the_tree(app: App, landing: Path, start_daemon) -> None:
    private = _outside(landing.parent)
    (landing / "out.parquet").symlink_to(private)
    source = LocalSource({"path": str(landing), "settle": 0.2, "follow_symlinks": True}, instance="landing")
    consumer = ReadCheck(app)
    daemon = start_daemon(app, [source], consumer)
    (landing / "made.parquet").symlink_to(private)
    _verdicts(daemon, 2)
    assert {name: s for name, (s, _) in _link_states(daemon).items()} == {"out.parquet": "done", "made.parquet": "done"}
    assert all(rows == 7 for _, rows, _ in consumer.read)


def test_the_poll_source_applies_the_link_policy_on_a_local_disk(app: App, landing: Path, start_daemon) -> None:
    private = _outside(landing.parent)
    (landing / "out.parquet").symlink_to(private)
    (landing / "linked-dir").symlink_to(private.parent, target_is_directory=True)  # never entered
    land(landing / "good.parquet")
    consumer = ReadCheck(app)
    daemon = start_daemon(app, [PollSource({"uri": f"file://{landing}", "interval": 0.05}, instance="poll")], consumer)
    _verdicts(daemon, 2)
    states = _link_states(daemon)
    assert set(states) == {"out.parquet", "good.parquet"}
    assert states["out.parquet"][0] == "rejected" and "sources.poll.follow_symlinks" in states["out.parquet"][1]
    assert [Path(e.uri).name for e in consumer.arrived] == ["good.parquet"]


def test_batches_landing_while_the_ledger_is_full_are_kept_and_recorded_once_it_can_write(
    app: App, landing: Path, start_daemon
) -> None:
    source = LocalSource({"path": str(landing), "settle": 0.2, "rescan": 0}, instance="landing")  # no safety net
    daemon = start_daemon(app, [source])
    conn = daemon.ledger._conn
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    # SQLite's own size limit: inserts fail with SQLITE_FULL, "database or disk is full", as on a full disk.
    conn.execute(f"PRAGMA max_page_count = {pages}")
    for i in range(30):
        land(landing / f"full-{i:02}.parquet")
    wait_for(lambda: daemon.unrecorded + len(daemon.ledger.batches()) == 30, what="30 batches reported")
    assert daemon.unrecorded > 0  # refused by the full ledger, and kept
    conn.execute("PRAGMA max_page_count = 1073741823")  # space is back
    wait_for(lambda: daemon.ledger.counts()["done"] == 30, timeout=60, what="30 verdicts")
    assert daemon.unrecorded == 0 and daemon.ledger.counts()["done"] == 30
