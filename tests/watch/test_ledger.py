"""The SQLite ledger and the plugin that drives its transitions from events."""

from __future__ import annotations

from pathlib import Path

import pytest

from arlequin_core import hookimpl
from arlequin_core.bus import Bus
from arlequin_core.events import BatchChecked, BatchRejected, DataArrived
from arlequin_core.ledger import Ledger, LedgerError, LedgerPlugin, open_ledger
from arlequin_core.plugins import PluginHost
from arlequin_core.sources.base import Landed


def _landed(name: str, size: int = 10, mtime: float = 1700000000.0) -> Landed:
    return Landed(f"/landing/{name}", size, mtime, "file", "local")


@pytest.fixture
def ledger(tmp_path: Path):
    with open_ledger(tmp_path / "home") as led:
        yield led


def test_observe_is_idempotent_by_batch_id(ledger: Ledger) -> None:
    a = _landed("a.parquet")
    assert ledger.observe(a) is True
    assert ledger.observe(a) is False  # reported again (rescan, restart): nothing changes
    assert ledger.observe(_landed("a.parquet", mtime=1700000100.0)) is True  # re-written: a new batch
    assert ledger.counts() == {"seen": 2, "processing": 0, "done": 0, "rejected": 0, "drifted": 0}
    row = ledger.get(a.batch_id)
    assert row is not None and (row.uri, row.size, row.state, row.attempts) == (a.uri, 10, "seen", 0)


def test_claim_hands_out_batches_in_arrival_order_once(ledger: Ledger) -> None:
    batches = [_landed(f"{n}.parquet") for n in ("c", "a", "b")]
    for b in batches:
        ledger.observe(b)
    claimed = [ledger.claim() for _ in range(4)]
    assert [c.uri if c else None for c in claimed] == [b.uri for b in batches] + [None]
    assert all(c.state == "processing" and c.attempts == 1 for c in claimed if c)
    assert ledger.claim(batches[0].batch_id) is None  # not pending any more


def test_finish_only_ends_processing_batches(ledger: Ledger) -> None:
    a, b = _landed("a.parquet"), _landed("b.parquet")
    ledger.observe(a)
    ledger.observe(b)
    assert ledger.finish(a.batch_id, "done", drifted=True) is False  # still pending: not handed out
    ledger.claim(a.batch_id)
    ledger.claim(b.batch_id)
    assert ledger.finish(a.batch_id, "done", drifted=True, verdict_event_id="e1") is True
    assert ledger.finish(a.batch_id, "rejected", reason="late duplicate") is False
    assert ledger.finish(b.batch_id, "rejected", reason="truncated") is True
    assert ledger.finish("unknown", "done") is False
    with pytest.raises(ValueError, match="done"):
        ledger.finish(b.batch_id, "seen")  # type: ignore[arg-type]
    done, rejected = ledger.get(a.batch_id), ledger.get(b.batch_id)
    assert done and (done.state, done.drifted, done.verdict_event_id) == ("done", True, "e1")
    assert rejected and (rejected.state, rejected.reason) == ("rejected", "truncated")
    assert ledger.counts() == {"seen": 0, "processing": 0, "done": 1, "rejected": 1, "drifted": 1}


def test_state_survives_reopening_and_recover_requeues_interrupted_batches(tmp_path: Path) -> None:
    a, b, c = (_landed(f"{n}.parquet") for n in "abc")
    with open_ledger(tmp_path) as first:
        for x in (a, b, c):
            first.observe(x)
        first.claim(a.batch_id)
        first.finish(a.batch_id, "done", drifted=False)
        first.claim(b.batch_id)  # the process dies while b is processing
    with open_ledger(tmp_path) as second:
        assert second.counts()["processing"] == 1
        assert second.recover() == [b.batch_id]
        assert [x.batch_id for x in second.batches(["seen"], newest=False)] == [b.batch_id, c.batch_id]
        again = second.claim()
        assert again is not None and again.batch_id == b.batch_id and again.attempts == 2
        assert second.get(a.batch_id).state == "done"  # type: ignore[union-attr]


def test_reset_puts_done_or_rejected_back_to_pending(ledger: Ledger) -> None:
    a, b = _landed("a.parquet"), _landed("b.parquet")
    for x in (a, b):
        ledger.observe(x)
        ledger.claim(x.batch_id)
    ledger.finish(a.batch_id, "rejected", reason="missing column y")
    assert ledger.reset(a.batch_id).state == "seen"
    with pytest.raises(LedgerError, match="being processed"):
        ledger.reset(b.batch_id)
    with pytest.raises(KeyError):
        ledger.reset("nope")
    ledger.finish(b.batch_id, "done")
    assert ledger.reset(b.batch_id).state == "seen"
    assert ledger.reset(b.batch_id).state == "seen"  # pending already: unchanged


def test_find_by_id_prefix_and_uri(ledger: Ledger) -> None:
    a1, a2, b = _landed("a.parquet"), _landed("a.parquet", mtime=1700000500.0), _landed("b_1.parquet")
    for x in (a1, a2, b):
        ledger.observe(x)
    assert [x.batch_id for x in ledger.find(a1.batch_id)] == [a1.batch_id]
    assert [x.batch_id for x in ledger.find(b.batch_id[:6])] == [b.batch_id]
    assert [x.batch_id for x in ledger.find("/landing/a.parquet")] == [a2.batch_id, a1.batch_id]  # newest first
    assert ledger.find("%") == [] and ledger.find("/landing/b%1.parquet") == []


def _host_with(ledger: Ledger, *plugins: tuple[str, object]) -> tuple[PluginHost, list[tuple[str, str]]]:
    finished: list[tuple[str, str]] = []
    host = PluginHost(entry_points=[]).load()
    keeper = LedgerPlugin(ledger, consumers=["consumer:boom"], on_finished=lambda b, s: finished.append((b, s)))
    assert host.register_plugin(keeper, "ledger")
    for name, plugin in plugins:
        assert host.register_plugin(plugin, name)
    return host, finished


def test_arlequin_on_batch_checked_marks_the_batch_done(ledger: Ledger) -> None:
    a = _landed("a.parquet")
    ledger.observe(a)
    ledger.claim(a.batch_id)
    host, finished = _host_with(ledger)
    checked = BatchChecked(batch_id=a.batch_id, uri=a.uri, drifted=True, drift_share=0.5)
    with Bus(host.pm) as bus:
        bus.publish(checked)
        bus.publish(BatchChecked(batch_id="not-ours", uri="x", drifted=False))
    row = ledger.get(a.batch_id)
    assert row and (row.state, row.drifted, row.verdict_event_id) == ("done", True, checked.event_id)
    assert finished == [(a.batch_id, "done")]


def test_arlequin_on_batch_rejected_marks_the_batch_rejected_with_its_reason(ledger: Ledger) -> None:
    a = _landed("a.parquet")
    ledger.observe(a)
    ledger.claim(a.batch_id)
    host, finished = _host_with(ledger)
    with Bus(host.pm) as bus:
        bus.publish(BatchRejected(batch_id=a.batch_id, uri=a.uri, reason="file is empty", error_type="InputError"))
    row = ledger.get(a.batch_id)
    assert row and (row.state, row.reason) == ("rejected", "InputError: file is empty")
    assert finished == [(a.batch_id, "rejected")]


class _Boom:
    @hookimpl
    def arlequin_on_data_arrived(self, event: DataArrived) -> None:
        raise RuntimeError(f"cannot handle {event.uri}")


class _Bystander:
    """Not a consumer: its failures must not reject batches."""

    @hookimpl
    def arlequin_on_data_arrived(self, event: DataArrived) -> None:
        raise ValueError("bystander broke")


def test_arlequin_on_plugin_failed_rejects_the_batch_a_consumer_failed_on(ledger: Ledger) -> None:
    a, b = _landed("a.parquet"), _landed("b.parquet")
    for x in (a, b):
        ledger.observe(x)
        ledger.claim(x.batch_id)
    host, finished = _host_with(ledger, ("consumer:boom", _Boom()))
    with Bus(host.pm) as bus:
        bus.publish(DataArrived(batch_id=a.batch_id, uri=a.uri, source="local"))
    row = ledger.get(a.batch_id)
    assert row and row.state == "rejected"
    assert row.reason == f"consumer 'consumer:boom' failed: RuntimeError: cannot handle {a.uri}"
    assert finished == [(a.batch_id, "rejected")]

    other, finished_other = _host_with(ledger, ("bystander", _Bystander()))
    with Bus(other.pm) as bus:
        bus.publish(DataArrived(batch_id=b.batch_id, uri=b.uri, source="local"))
    assert ledger.get(b.batch_id).state == "processing"  # type: ignore[union-attr]
    assert finished_other == []
