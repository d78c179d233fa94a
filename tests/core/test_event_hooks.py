"""One test per event hook: each event reaches its hook through the bus, and the
built-in ``log`` plugin logs it (through ``arlequin_on_event``, which gets every event)."""

from __future__ import annotations

import json

import pytest
import structlog

from arlequin_core import hookimpl
from arlequin_core.bus import Bus
from arlequin_core.events import (
    EVENT_TYPES,
    BatchChecked,
    BatchRejected,
    BuildFinished,
    DataArrived,
    DataQualityFailed,
    DriftDetected,
    Event,
    ModelRegistered,
    PluginFailed,
    SinkDelivered,
    SinkFailed,
)
from arlequin_core.logs import configure_logging
from arlequin_core.plugins import PluginHost


def _deliver(event: Event, capsys: pytest.CaptureFixture[str]) -> None:
    """Publish ``event``; check a plugin's hook got it and the log plugin logged it."""
    received: list[Event] = []
    hook = event.hook_name()
    recorder = type("Recorder", (), {hook: hookimpl(staticmethod(lambda event: received.append(event)))})()
    configure_logging("json", "debug")
    host = PluginHost().load()  # the real built-in plugins, including `log`
    host.register_plugin(recorder, "recorder")
    assert host.plugins["log"].hooks == ["arlequin_on_event"]
    with Bus(host.pm) as bus:
        bus.publish(event)
    assert received == [event]
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    logged = [line for line in lines if line.get("event") == event.name]
    assert logged and logged[0]["event_id"] == event.event_id
    structlog.reset_defaults()


def test_arlequin_on_data_arrived(capsys) -> None:
    _deliver(DataArrived(batch_id="b", uri="file:///d/b.parquet", source="local", size_bytes=10), capsys)


def test_arlequin_on_batch_checked(capsys) -> None:
    _deliver(BatchChecked(batch_id="b", uri="u", drifted=False, drift_share=0.1, rows=100), capsys)


def test_arlequin_on_drift_detected(capsys) -> None:
    _deliver(DriftDetected(batch_id="b", uri="u", reason="amount drifted", drift_share=0.6), capsys)


def test_arlequin_on_data_quality_failed(capsys) -> None:
    finding = "column 'amount': all 300 values are missing"
    _deliver(DataQualityFailed(batch_id="b", uri="u", findings=(finding,), rules=("missing",)), capsys)


def test_arlequin_on_batch_rejected(capsys) -> None:
    _deliver(BatchRejected(batch_id="b", uri="u", reason="file is empty", error_type="InputError"), capsys)


def test_arlequin_on_model_registered(capsys) -> None:
    _deliver(ModelRegistered(model_name="m", model_version="2", run_id="r", promoted=True), capsys)


def test_arlequin_on_sink_delivered(capsys) -> None:
    _deliver(SinkDelivered(sink="jenkins", target="http://ci/job/x/7/", detail={"build": 7}), capsys)


def test_arlequin_on_sink_failed(capsys) -> None:
    _deliver(SinkFailed(sink="webhook", error="503 after 5 tries"), capsys)


def test_arlequin_on_build_finished(capsys) -> None:
    _deliver(BuildFinished(sink="jenkins", build_url="http://ci/job/x/7/", result="SUCCESS", build_number=7), capsys)


def test_arlequin_on_plugin_failed(capsys) -> None:
    _deliver(PluginFailed(plugin="p", hook="arlequin_on_data_arrived", error="boom"), capsys)


def test_every_event_has_a_hookspec_and_a_test_here() -> None:
    from arlequin_core import hookspecs

    for name, cls in EVENT_TYPES.items():
        assert hasattr(hookspecs, cls.hook_name()), f"event {name} has no hookspec {cls.hook_name()}"
        assert f"test_{cls.hook_name()}" in globals(), f"event {name} has no delivery test"


class _EveryEvent:
    """Implements the typed hook of drift-detected and the every-event hook."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.calls: list[tuple[str, str]] = []
        self.fail_on = fail_on

    @hookimpl
    def arlequin_on_drift_detected(self, event: DriftDetected) -> None:
        self.calls.append(("arlequin_on_drift_detected", event.name))

    @hookimpl
    def arlequin_on_event(self, event: Event) -> None:
        self.calls.append(("arlequin_on_event", event.name))
        if event.name == self.fail_on:
            raise RuntimeError(f"cannot handle {event.name}")


EXAMPLES = [
    DataArrived(batch_id="b", uri="u"),
    BatchChecked(batch_id="b", uri="u", drifted=True, drift_share=0.6),
    DriftDetected(batch_id="b", uri="u", reason="amount drifted", drift_share=0.6),
    BatchRejected(batch_id="b", uri="u", reason="file is empty"),
    ModelRegistered(model_name="m", model_version="2", run_id="r", promoted=True),
    SinkDelivered(sink="jenkins", target="http://ci/job/x/7/"),
    SinkFailed(sink="webhook", error="503 after 5 tries"),
    BuildFinished(sink="jenkins", build_url="http://ci/job/x/7/", result="SUCCESS"),
    PluginFailed(plugin="p", hook="arlequin_on_data_arrived", error="boom"),
    DataQualityFailed(batch_id="b", uri="u", findings=("column 'a': all 3 values are missing",)),
]


def test_arlequin_on_event_receives_every_event_in_order_after_the_typed_hook() -> None:
    assert {e.name for e in EXAMPLES} == set(EVENT_TYPES)
    host = PluginHost(entry_points=[]).load()
    plugin = _EveryEvent()
    assert host.register_plugin(plugin, "every")
    with Bus(host.pm) as bus:
        for event in EXAMPLES:
            bus.publish(event)
    expected = [("arlequin_on_event", e.name) for e in EXAMPLES]
    expected.insert(2, ("arlequin_on_drift_detected", "drift-detected"))  # the typed hook first
    assert plugin.calls == expected


def test_arlequin_on_event_gets_an_event_no_typed_hook_exists_for() -> None:
    from dataclasses import dataclass
    from typing import ClassVar

    @dataclass(frozen=True, kw_only=True)
    class QualityChecked(Event):
        name: ClassVar[str] = "quality-checked-test"

    host = PluginHost(entry_points=[]).load()
    plugin = _EveryEvent()
    host.register_plugin(plugin, "every")
    with Bus(host.pm) as bus:
        bus.publish(QualityChecked(batch_id="b"))
    assert plugin.calls == [("arlequin_on_event", "quality-checked-test")]


def test_arlequin_on_event_failure_is_journalled_naming_that_hook(tmp_path) -> None:
    from arlequin_core.journal import Journal, read_journal

    host = PluginHost(entry_points=[]).load()
    failing, other = _EveryEvent(fail_on="data-arrived"), _EveryEvent()
    host.register_plugin(failing, "failing")
    host.register_plugin(other, "other")
    journal = Journal(tmp_path / "journal.jsonl")
    with Bus(host.pm, journal) as bus:
        bus.publish(DataArrived(batch_id="b", uri="u"))
    journal.close()
    assert ("arlequin_on_event", "data-arrived") in other.calls  # the others still get it
    (failure,) = [e for e in read_journal(tmp_path / "journal.jsonl") if isinstance(e, PluginFailed)]
    assert failure.plugin == "failing" and failure.hook == "arlequin_on_event"
    assert "cannot handle data-arrived" in failure.error
