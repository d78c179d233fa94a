"""Jenkins going away and the daemon dying at the wrong moment (issue 20, items 3 and 4).

The Jenkins here is the protocol-level server of :mod:`tests.sinks.servers`: taking it
down closes its port (connections are refused, as for a Jenkins being restarted).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import parse_qsl

from arlequin_core.events import SinkDelivered, SinkFailed
from arlequin_core.journal import read_journal
from arlequin_jenkins.sink import JenkinsSink

from .conftest import drift, jenkins_table, wait_until
from .servers import FakeJenkins


def _defaults(server: FakeJenkins, **overrides) -> dict:
    """The table of a user who set only what they must: no ``max_attempts``, fast clocks for the test."""
    table = jenkins_table(server, **overrides)
    del table["max_attempts"]
    return table


def _attempts(sink: JenkinsSink, key: str) -> int:
    (letter,) = [letter for letter in sink.store.letters("jenkins") if letter.key == key]
    return letter.attempts


def _forms(server: FakeJenkins) -> list[dict[str, str]]:
    return [dict(parse_qsl(r.body.decode())) for r in server.trigger_posts() if r.body]


def test_an_outage_longer_than_the_old_budget_ends_in_exactly_one_build_for_what_piled_up(make_app, jenkins) -> None:
    app = make_app({"jenkins": _defaults(jenkins, retry_for=120)})
    sink = JenkinsSink(app.config.sinks["jenkins"], app)
    jenkins.down()
    sink.start()
    sink.submit(drift("b1"))
    wait_until(lambda: _attempts(sink, "drift-detected:b1") >= 12)  # twice the old budget of 6
    sink.submit(drift("b2"))
    sink.submit(drift("b3"))
    wait_until(lambda: _attempts(sink, "drift-detected:b3") >= 2)
    assert sink.store.counts("jenkins")["dead"] == 0
    jenkins.up()
    wait_until(lambda: sink.store.counts("jenkins")["delivered"] == 3)
    sink.close()
    assert len(jenkins.triggers) == 1  # one build after recovery, for all three
    assert jenkins.triggers[0]["BATCH_IDS"] == "b1,b2,b3"
    app.bus.join()
    assert [e for e in read_journal(app.journal_path) if isinstance(e, SinkFailed)] == []


def test_past_the_deadline_the_letters_become_dead_letters_saying_how_long_it_tried(make_app, jenkins) -> None:
    app = make_app({"jenkins": _defaults(jenkins, retry_for=0.3)})
    sink = JenkinsSink(app.config.sinks["jenkins"], app)
    jenkins.down()
    sink.submit(drift("b1"))
    assert sink.flush().failed == 1
    sink.close()
    (dead,) = sink.store.letters("jenkins", state="dead")
    assert "cannot reach" in dead.error and "still failing after 0.3 s of retries" in dead.error
    assert dead.attempts > 1


_CHILD = """
import sys, time
from arlequin_core.app import App
from arlequin_core.config import load_config
from arlequin_core.events import DriftDetected
from arlequin_jenkins.sink import JenkinsSink

app = App(load_config(sys.argv[1]))
sink = JenkinsSink(app.config.sinks["jenkins"], app)
sink.submit(DriftDetected(batch_id=sys.argv[2], uri="file:///data/x.parquet", reason="drift", drift_share=1.0))
sink.start()
time.sleep(600)
"""


def _run_child(tmp_path: Path, batch: str) -> subprocess.Popen:
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(_CHILD))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen([sys.executable, str(script), str(tmp_path / "arlequin.toml"), batch], env=env)


def _state(home: Path, key: str) -> str | None:
    if not (home / "sinks.db").exists():
        return None  # the child has not started yet
    db = sqlite3.connect(home / "sinks.db")
    try:
        row = db.execute("SELECT state FROM letters WHERE key = ?", (key,)).fetchone()
    except sqlite3.OperationalError:
        return None  # its schema is being created
    finally:
        db.close()
    return None if row is None else row[0]


def test_a_kill_after_jenkins_accepted_resumes_following_and_never_builds_twice(make_app, jenkins, tmp_path) -> None:
    jenkins.queue_polls = 10_000  # the build does not start: the daemon is following the queue item
    app = make_app({"jenkins": jenkins_table(jenkins, poll_interval=0.05)})
    child = _run_child(tmp_path, "b1")
    try:
        wait_until(lambda: _state(app.home, "drift-detected:b1") == "accepted", seconds=60)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert len(jenkins.triggers) == 1
    (item,) = jenkins.queue.values()
    item.polls_left = 0  # Jenkins starts the build
    restarted = JenkinsSink(app.config.sinks["jenkins"], app)
    assert restarted.store.counts("jenkins")["dead"] == 0
    assert restarted.flush().deliveries == 1
    restarted.close()
    assert len(jenkins.triggers) == 1  # followed, not sent again
    (letter,) = restarted.store.letters("jenkins")
    assert letter.state == "delivered" and letter.detail.get("build_number") == 1
    app.bus.join()
    delivered = [e for e in read_journal(app.journal_path) if isinstance(e, SinkDelivered)]
    assert [e.detail.get("build_number") for e in delivered] == [1]


def test_a_kill_while_waiting_out_an_outage_sends_it_after_the_restart(make_app, jenkins, tmp_path) -> None:
    # Waits of 3 s between attempts: the kill lands while the sink waits, not mid-request (with
    # 0.5 s the next attempt began between the check and the kill once, on a loaded machine).
    slow = {"backoff_initial": 3.0, "backoff_max": 3.0, "backoff_jitter": 0.0}
    app = make_app({"jenkins": _defaults(jenkins, retry_for=600, **slow)})
    jenkins.down()
    child = _run_child(tmp_path, "b1")
    try:
        wait_until(lambda: (_attempts_in(app.home, "drift-detected:b1") or (0, 1)) >= (2, 0) and _waiting(app.home))
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    jenkins.up()
    restarted = JenkinsSink(app.config.sinks["jenkins"], app)
    assert restarted.store.counts("jenkins")["dead"] == 0  # nothing reached Jenkins: not ambiguous
    assert restarted.flush().deliveries == 1
    restarted.close()
    assert len(jenkins.triggers) == 1


def _attempts_in(home: Path, key: str) -> tuple[int, int] | None:
    """(attempts, in_doubt) of the letter, or None."""
    if not (home / "sinks.db").exists():
        return None  # the child has not started yet
    db = sqlite3.connect(home / "sinks.db")
    try:
        row = db.execute("SELECT attempts, in_doubt FROM letters WHERE key = ?", (key,)).fetchone()
    except sqlite3.OperationalError:
        return None  # its schema is being created
    finally:
        db.close()
    return None if row is None else tuple(row)


def _waiting(home: Path) -> bool:
    found = _attempts_in(home, "drift-detected:b1")
    return found is not None and found[1] == 0


def test_an_old_sinks_db_without_the_new_column_is_upgraded(tmp_path) -> None:
    from arlequin_core.sinks.store import DeliveryStore

    db = sqlite3.connect(tmp_path / "sinks.db")
    db.executescript(
        "CREATE TABLE letters (sink TEXT NOT NULL, key TEXT NOT NULL, seq INTEGER NOT NULL, event_id TEXT NOT NULL,"
        " batch_id TEXT, event TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
        " delivery_id TEXT, owner TEXT, target TEXT, detail TEXT, error TEXT, retryable INTEGER,"
        " created_at TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (sink, key));"
    )
    db.close()
    store = DeliveryStore(tmp_path / "sinks.db")
    assert store.record("jenkins", drift("b1"))
    assert [letter.key for letter in store.claim("jenkins")] == ["drift-detected:b1"]
    assert json.loads(json.dumps(store.counts("jenkins")))["delivering"] == 1
