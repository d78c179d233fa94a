"""The daemon in-process: real inotify, real bus, real ledger, the real ReadCheck consumer."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any

import fsspec
import pytest

from arlequin_core import hookimpl
from arlequin_core.app import App
from arlequin_core.config import load_config
from arlequin_core.daemon import Daemon, DaemonError, DaemonLock, build_sources
from arlequin_core.errors import ConfigError
from arlequin_core.events import BatchChecked, DataArrived
from arlequin_core.io import write_table_atomic
from arlequin_core.ledger import open_ledger
from arlequin_core.plugins import PluginHost
from arlequin_core.sources.base import Source
from arlequin_watch.local import LocalSource
from arlequin_watch.poll import PollSource

from .conftest import journal_events, land, table, wait_for, write_parquet_slowly
from .consumers import ReadCheck


def _local(landing: Path) -> LocalSource:
    return LocalSource({"path": str(landing), "settle": 0.2}, instance="landing")


def test_bad_batches_are_rejected_with_reasons_and_the_daemon_goes_on(app: App, landing: Path, start_daemon) -> None:
    consumer = ReadCheck(app, columns=["x", "y"])
    daemon = start_daemon(app, [_local(landing)], consumer)
    land(landing / "01-good.parquet", rows=10)
    (landing / "02-empty.parquet").write_bytes(b"")
    (landing / "03-truncated.parquet").write_bytes((landing / "01-good.parquet").read_bytes()[:-20])
    (landing / "04-garbage.csv").write_bytes(b"x,y\n1,2\n3,4,5\n")
    write_table_atomic(table(5).drop_columns(["y"]), str(landing / "05-wrong-schema.parquet"))
    write_table_atomic(table(0), str(landing / "06-no-rows.parquet"))
    land(landing / "07-good.parquet", rows=3)
    wait_for(lambda: daemon.ledger.counts()["done"] + daemon.ledger.counts()["rejected"] == 7, what="7 verdicts")

    states = {Path(b.uri).name: (b.state, b.reason) for b in daemon.ledger.batches()}
    assert {name: s for name, (s, _) in states.items()} == {
        "01-good.parquet": "done",
        "02-empty.parquet": "rejected",
        "03-truncated.parquet": "rejected",
        "04-garbage.csv": "rejected",
        "05-wrong-schema.parquet": "rejected",
        "06-no-rows.parquet": "rejected",
        "07-good.parquet": "done",
    }
    assert "file is empty" in states["02-empty.parquet"][1]
    assert "not a complete Parquet file" in states["03-truncated.parquet"][1]
    assert "cannot parse as csv" in states["04-garbage.csv"][1]
    assert "missing column" in states["05-wrong-schema.parquet"][1]
    assert "no rows" in states["06-no-rows.parquet"][1]
    rejected = journal_events(app.home, "batch-rejected")
    assert len(rejected) == 5 and all(str(landing) in e.reason for e in rejected)  # reasons name the file
    assert sorted(p.name for p in landing.iterdir()) == sorted(states)  # nothing moved or deleted


def test_a_file_written_slowly_under_its_final_name_is_read_once_whole(app: App, landing: Path, start_daemon) -> None:
    consumer = ReadCheck(app)
    daemon = start_daemon(app, [_local(landing)], consumer)
    chunk_done: list[float] = []
    write_parquet_slowly(
        landing / "slow.parquet", chunks=4, pause=0.15, on_chunk=lambda _: chunk_done.append(time.monotonic())
    )
    wait_for(lambda: daemon.ledger.counts()["done"] == 1, what="the verdict")
    assert consumer.read == [(str(landing / "slow.parquet"), 5000, consumer.read[0][2])]
    assert consumer.read[0][2] > chunk_done[-1]  # read after the last chunk (then close), never before
    assert journal_events(app.home, "batch-rejected") == [] and len(consumer.arrived) == 1


def test_restart_neither_reprocesses_done_batches_nor_loses_pending_ones(config_file: Path, landing: Path) -> None:
    def run(until_done: int) -> None:
        with App(load_config(config_file)) as app:
            daemon = Daemon(app, sources=[_local(landing)], consumers=[ReadCheck(app)])
            daemon.start()
            try:
                if until_done == 1:
                    land(landing / "a.parquet")
                wait_for(lambda: daemon.ledger.counts()["done"] == until_done, what=f"{until_done} done")
                assert daemon.wait_idle(5)
            finally:
                assert daemon.stop() == []

    run(until_done=1)
    land(landing / "b.parquet")  # lands while no daemon runs
    land(landing / "c.parquet")
    run(until_done=3)
    arrived = [Path(e.uri).name for e in journal_events(Path(".arlequin"), "data-arrived")]
    assert sorted(arrived) == ["a.parquet", "b.parquet", "c.parquet"]  # each handed out exactly once


def test_in_flight_window_holds_back_further_batches(app: App, landing: Path, start_daemon) -> None:
    gate = threading.Event()
    consumer = ReadCheck(app, gate=gate)
    daemon = start_daemon(app, [_local(landing)], consumer, max_in_flight=2)
    for i in range(5):
        land(landing / f"gate-{i}.parquet")

    # seen == 3 alone is also true for a moment while the window is still filling (one batch
    # handed out, the fifth not yet seen): wait for the full state, then check that it holds.
    def held() -> bool:
        counts = daemon.ledger.counts()
        return counts["seen"] == 3 and counts["processing"] == 2 and daemon.in_flight == 2

    wait_for(held, what="2 batches in flight, 3 waiting")
    time.sleep(0.5)  # the gate is still shut: nothing more may be handed out meanwhile
    assert held()
    gate.set()
    wait_for(lambda: daemon.ledger.counts()["done"] == 5, what="all 5 done")
    assert len(consumer.arrived) == 5


class Fragile(ReadCheck):
    """A consumer with a bug: it raises on batches named ``boom``."""

    @hookimpl
    def arlequin_on_data_arrived(self, event: DataArrived) -> None:
        if "boom" in event.uri:
            raise RuntimeError("consumer bug")
        super().arlequin_on_data_arrived(event)


def test_a_consumer_that_raises_gets_its_batch_rejected_and_the_daemon_goes_on(
    app: App, landing: Path, start_daemon
) -> None:
    daemon = start_daemon(app, [_local(landing)], Fragile(app))
    land(landing / "boom.parquet")
    land(landing / "fine.parquet")
    wait_for(lambda: daemon.ledger.counts()["done"] == 1 and daemon.ledger.counts()["rejected"] == 1, what="verdicts")
    (boom,) = daemon.ledger.batches(["rejected"])
    assert boom.reason == "consumer 'consumer:readcheck' failed: RuntimeError: consumer bug"
    assert [e.plugin for e in journal_events(app.home, "plugin-failed")] == ["consumer:readcheck"]


def test_poll_source_on_memory_end_to_end(app: App, start_daemon) -> None:
    root = f"memory://daemon-{uuid.uuid4().hex[:8]}"
    fsspec.filesystem("memory").makedirs(root, exist_ok=True)
    consumer = ReadCheck(app)
    daemon = start_daemon(app, [PollSource({"uri": root, "interval": 0.05}, instance="mem")], consumer)
    write_table_atomic(table(42), f"{root}/b.parquet")
    wait_for(lambda: daemon.ledger.counts()["done"] == 1, what="the memory batch")
    assert consumer.read[0][:2] == (f"{root}/b.parquet", 42)


def test_process_retries_a_rejected_batch(app: App, landing: Path, start_daemon) -> None:
    consumer = ReadCheck(app, columns=["x", "z"])
    daemon = start_daemon(app, [_local(landing)], consumer)
    land(landing / "a.parquet")
    wait_for(lambda: daemon.ledger.counts()["rejected"] == 1, what="rejection")
    (batch,) = daemon.ledger.batches()
    consumer.columns = ["x"]  # the cause is fixed
    daemon.ledger.reset(batch.batch_id)
    wait_for(lambda: daemon.ledger.counts()["done"] == 1, what="the sweep to pick up the retried batch")
    after = daemon.ledger.get(batch.batch_id)
    assert after and after.attempts == 2 and after.reason is None


def test_second_daemon_on_the_same_home_is_refused(app: App, landing: Path, start_daemon) -> None:
    start_daemon(app, [])
    with App(app.config) as other, pytest.raises(DaemonError, match=r"another arlequin watcher \(pid \d+\) is running"):
        Daemon(other, consumers=[ReadCheck(other)]).start()
    assert DaemonLock(app.home).holder() is not None


class ProbeSink:
    """A sink as ``arlequin_core.sinks`` makes them: a plugin object with event hooks and ``close()``."""

    name = "probe"

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.closed = False

    @hookimpl
    def arlequin_on_batch_checked(self, event: BatchChecked) -> None:
        self.seen.append(event.uri)

    def close(self) -> None:
        self.closed = True


def test_sinks_start_with_the_daemon_get_its_events_and_stop_with_it(app: App, landing: Path) -> None:
    sink = ProbeSink()

    def start_sinks(a: App) -> list[ProbeSink]:
        a.host.pm.register(sink, name="sink:probe")
        return [sink]

    daemon = Daemon(app, sources=[_local(landing)], consumers=[ReadCheck(app)], start_sinks=start_sinks)
    daemon.start()
    land(landing / "a.parquet")
    wait_for(lambda: daemon.ledger.counts()["done"] == 1, what="done")
    assert daemon.stop() == [] and daemon.drained
    assert sink.seen == [str(landing / "a.parquet")]  # delivered before stop returned
    assert sink.closed and not app.host.pm.is_registered(sink)
    assert DaemonLock(app.home).holder() is None


def test_build_sources_from_targets_and_from_config(isolated: Path, landing: Path) -> None:
    app = App(load_config())
    local, poll = build_sources(app, [str(landing), "memory://x"], interval=0.5)
    assert (local.name, local.instance, poll.name, poll.settings.interval) == ("local", "local-1", "poll", 0.5)
    with pytest.raises(ConfigError, match="nothing to watch"):
        build_sources(app)
    (isolated / "arlequin.toml").write_text(
        f'[sources.landing]\ntype = "local"\npath = "{landing}"\n\n'
        '[sources.hdfs]\ntype = "poll"\nuri = "memory://y"\nenabled = false\n'
        f'\n[sources.local]\npath = "{landing}"\nsettle = 0.5\n'
    )
    configured = build_sources(App(load_config()))
    assert [(s.name, s.instance) for s in configured] == [("local", "landing"), ("local", "local")]
    (isolated / "arlequin.toml").write_text('[sources.x]\ntype = "ftp"\n')
    with pytest.raises(ConfigError, match=r"key sources\.x\.type: unknown source 'ftp'; known sources: local, poll"):
        build_sources(App(load_config()))


class _QueueSource(Source):
    """A third-party source that handles ``queue:NAME`` targets (and nothing else)."""

    name = "queue"

    @classmethod
    def table_for_target(cls, target: str, *, interval: float | None = None) -> dict[str, Any] | None:
        return {"queue": target.removeprefix("queue:")} if target.startswith("queue:") else None

    def start(self, emit: Any) -> None:
        pass

    def stop(self) -> None:
        pass


class _BrokenSource(_QueueSource):
    name = "broken"

    @classmethod
    def table_for_target(cls, target: str, *, interval: float | None = None) -> dict[str, Any] | None:
        raise RuntimeError("bug in a source plugin")


class _GreedySource(_QueueSource):
    name = "greedy"

    @classmethod
    def table_for_target(cls, target: str, *, interval: float | None = None) -> dict[str, Any] | None:
        return {"any": target}


def test_build_sources_asks_every_registered_source_which_targets_it_handles(isolated: Path, landing: Path) -> None:
    # Without the watch plugin, the daemon knows no "local" or "poll": the third-party source answers alone.
    host = PluginHost(disabled=["watch"]).load()
    host.registry.register("source", _QueueSource, "queue-plugin")
    host.registry.register("source", _BrokenSource, "broken-plugin")
    app = App(load_config(), host=host)
    (queue,) = build_sources(app, ["queue:orders"])
    assert (type(queue), queue.instance, queue.config) == (_QueueSource, "queue", {"queue": "orders"})
    with pytest.raises(ConfigError, match=r"no installed source handles '/data' \(sources: broken, queue\)"):
        build_sources(app, ["/data"])
    # With it, a target two sources accept is refused, naming both, rather than guessed.
    host = PluginHost().load()
    host.registry.register("source", _GreedySource, "greedy-plugin")
    with pytest.raises(ConfigError, match=r"handled by several sources \(greedy, local\)"):
        build_sources(App(load_config(), host=host), [str(landing)])


def test_default_consumers_come_from_config(app: App, isolated: Path) -> None:
    from arlequin_core.daemon import default_consumers

    (consumer,) = default_consumers(app)
    assert type(consumer).__name__ == "ReadCheck"
    (isolated / "other.toml").write_text('[watch]\nconsumers = ["no.such.module:factory"]\n')
    with pytest.raises(ConfigError, match=r"cannot load 'no\.such\.module:factory'"):
        default_consumers(App(load_config(isolated / "other.toml")))
    (isolated / "empty.toml").write_text("[watch]\n")
    (monitor,) = default_consumers(App(load_config(isolated / "empty.toml")))
    assert type(monitor).__name__ == "Monitor"  # the drift monitor, on the champion's profile


def test_ledger_is_under_home(app: App, landing: Path, start_daemon) -> None:
    daemon = start_daemon(app, [_local(landing)])
    land(landing / "a.parquet")
    wait_for(lambda: daemon.ledger.counts()["done"] == 1, what="done")
    with open_ledger(app.home) as other:  # a second connection (arlequin status) sees it live
        assert other.counts()["done"] == 1


def test_the_metrics_endpoint_lives_as_long_as_the_daemon_and_only_when_configured(
    config_file: Path, landing: Path
) -> None:
    import requests

    from arlequin_metrics.exporter import MetricsSink

    config_file.write_text(config_file.read_text() + "\n[sinks.retrain]\nenabled = false\n[metrics]\nport = 0\n")
    with App(load_config(config_file)) as app:
        daemon = Daemon(app, sources=[_local(landing)], consumers=[ReadCheck(app)])
        daemon.start()
        try:
            [sink] = [s for s in daemon._sinks if isinstance(s, MetricsSink)]
            url = sink.url
            land(landing / "a.parquet")
            wait_for(lambda: daemon.ledger.counts()["done"] == 1, timeout=60, what="done")
            app.bus.join()
            assert "arlequin_batches_seen_total 1.0" in requests.get(url, timeout=5).text
        finally:
            daemon.stop(timeout=5)
        with pytest.raises(requests.ConnectionError):
            requests.get(url, timeout=2)
    config_file.write_text(config_file.read_text().replace("[metrics]\nport = 0\n", ""))
    with App(load_config(config_file)) as app:
        daemon = Daemon(app, sources=[], consumers=[ReadCheck(app)])
        daemon.start(dispatch=False)
        try:
            assert not any(isinstance(s, MetricsSink) for s in daemon._sinks)  # embedded mode: no endpoint
        finally:
            daemon.stop(timeout=5)
