"""One test per event hook: each event reaches its hook through the bus, and the
built-in ``log`` plugin's implementation of that hook logs it."""

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
    assert hook in host.plugins["log"].hooks
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
