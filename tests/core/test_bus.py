"""The bus: isolation of failing plugins, journal and replay, back-pressure, draining."""

from __future__ import annotations

import json
import queue
import threading
import time

import pytest

from arlequin_core import hookimpl
from arlequin_core.bus import Bus, BusClosedError
from arlequin_core.events import DataArrived, DriftDetected, PluginFailed
from arlequin_core.journal import Journal, read_journal
from arlequin_core.plugins import PluginHost


class Recorder:
    def __init__(self) -> None:
        self.events: list = []

    @hookimpl
    def arlequin_on_data_arrived(self, event):
        self.events.append(event)

    @hookimpl
    def arlequin_on_plugin_failed(self, event):
        self.events.append(event)


class Raiser:
    @hookimpl
    def arlequin_on_data_arrived(self, event):
        raise RuntimeError(f"cannot handle {event.batch_id}")


class Blocker:
    """Blocks on each event until released, to simulate a slow consumer (training)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = threading.Event()
        self.events: list = []

    @hookimpl
    def arlequin_on_data_arrived(self, event):
        self.started.set()
        self.release.wait(10)
        self.events.append(event)


def _host(**plugins) -> PluginHost:
    host = PluginHost(entry_points=[]).load()
    for name, plugin in plugins.items():
        assert host.register_plugin(plugin, name)
    return host


def _arrived(i: int) -> DataArrived:
    return DataArrived(batch_id=f"b{i}", uri=f"file:///data/b{i}.parquet", source="test")


def test_raising_plugin_does_not_stop_the_others(tmp_path) -> None:
    recorder = Recorder()
    host = _host(raiser=Raiser(), recorder=recorder)
    with Journal(tmp_path / "j.jsonl") as journal, Bus(host.pm, journal) as bus:
        bus.publish(_arrived(1))
        bus.join()
    arrived = [e for e in recorder.events if e.name == "data-arrived"]
    failures = [e for e in recorder.events if isinstance(e, PluginFailed)]
    assert [e.batch_id for e in arrived] == ["b1"]
    assert len(failures) == 1 and failures[0].plugin == "raiser"
    assert "cannot handle b1" in failures[0].error
    # The failure is journalled, tied to the event that failed.
    journalled = list(read_journal(tmp_path / "j.jsonl"))
    assert [e.name for e in journalled] == ["data-arrived", "plugin-failed"]
    assert journalled[1].failed_event_id == journalled[0].event_id


def test_journal_is_json_lines_and_replays_the_same_events(tmp_path) -> None:
    host = _host()
    sent = [_arrived(i) for i in range(5)] + [
        DriftDetected(batch_id="b4", uri="u", reason="3 of 6 columns", drift_share=0.5, drifted_columns=("a", "b"))
    ]
    with Journal(tmp_path / "j.jsonl") as journal, Bus(host.pm, journal) as bus:
        for event in sent:
            bus.publish(event)
    lines = (tmp_path / "j.jsonl").read_text().splitlines()
    assert len(lines) == len(sent)
    assert all(isinstance(json.loads(line), dict) for line in lines)
    replayed = list(read_journal(tmp_path / "j.jsonl"))
    assert replayed == sent  # same ids, times, fields (tuples restored)


def test_full_queue_applies_back_pressure_without_losing_events() -> None:
    blocker = Blocker()
    host = _host(blocker=blocker)
    bus = Bus(host.pm, maxsize=2)
    bus.publish(_arrived(0))
    assert blocker.started.wait(5)  # the worker holds event 0; the queue has room for 2
    bus.publish(_arrived(1))
    bus.publish(_arrived(2))
    with pytest.raises(queue.Full):
        bus.publish(_arrived(3), timeout=0.2)  # the producer waited, then gave up: journalled, not dropped
    done = threading.Event()

    def producer() -> None:
        bus.publish(_arrived(4))  # blocks until the consumer makes room
        done.set()

    threading.Thread(target=producer, daemon=True).start()
    assert not done.wait(0.3), "publish must block while the queue is full"
    blocker.release.set()
    assert done.wait(5)
    bus.close()
    assert [e.batch_id for e in blocker.events] == ["b0", "b1", "b2", "b4"]


def test_slow_plugin_does_not_hold_back_the_others() -> None:
    blocker, recorder = Blocker(), Recorder()
    host = _host(blocker=blocker, recorder=recorder)
    bus = Bus(host.pm, maxsize=10)
    for i in range(3):
        bus.publish(_arrived(i))
    deadline = time.monotonic() + 5
    while len(recorder.events) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(recorder.events) == 3 and blocker.events == []
    blocker.release.set()
    bus.close()
    assert len(blocker.events) == 3


def test_close_drains_then_refuses() -> None:
    recorder = Recorder()
    bus = Bus(_host(recorder=recorder).pm, maxsize=1000)
    for i in range(200):
        bus.publish(_arrived(i))
    bus.close()
    assert len(recorder.events) == 200
    with pytest.raises(BusClosedError):
        bus.publish(_arrived(999))


def test_failing_failure_handler_does_not_loop(tmp_path) -> None:
    class BadHandler:
        calls = 0

        @hookimpl
        def arlequin_on_plugin_failed(self, event):
            BadHandler.calls += 1
            raise RuntimeError("handler broken too")

    host = _host(raiser=Raiser(), bad=BadHandler())
    with Journal(tmp_path / "j.jsonl") as journal, Bus(host.pm, journal) as bus:
        bus.publish(_arrived(1))
    assert BadHandler.calls == 1
    assert [e.name for e in read_journal(tmp_path / "j.jsonl")] == ["data-arrived", "plugin-failed"]


def test_journal_survives_a_truncated_last_line(tmp_path) -> None:
    path = tmp_path / "j.jsonl"
    with Journal(path) as journal:
        journal.append(_arrived(1))
    with open(path, "a") as f:
        f.write('{"name":"data-arrived","event_id":"x')  # a crash mid-write
    with Journal(path) as journal:
        journal.append(_arrived(2))
    assert [e.batch_id for e in read_journal(path)] == ["b1", "b2"]


def test_bus_rejects_bad_queue_size() -> None:
    with pytest.raises(ValueError, match="maxsize"):
        Bus(_host().pm, maxsize=0)
