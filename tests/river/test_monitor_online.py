"""The drift monitor with an online detector, on a real bus and journal: state across
batches and a restart, timestamps in the report, retries not fed twice, reset on promotion."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from recorders import Recorder

from arlequin_core.app import App
from arlequin_core.config import ArlequinConfig
from arlequin_core.drift.check import check_batch
from arlequin_core.drift.profile import Profile, build_profile
from arlequin_core.events import BatchChecked, DataArrived, DriftDetected, ModelRegistered
from arlequin_core.monitor import Monitor

START = pd.Timestamp("2026-03-01T00:00:00", tz="UTC")


def _config(**data: object) -> ArlequinConfig:
    return ArlequinConfig.model_validate(
        {
            "arlequin": {"home": "state", "journal_fsync": False},
            "data": {"timestamp": "ts", **data},
            "drift": {"columns": {"amount": {"detector": "adwin", "params": {"delta": 0.001}}}, "drift_share": 0.5},
        }
    )


def _frame(n: int, seed: int, first_minute: int, change_at: int | None = None) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    amount = rng.normal(100.0, 10.0, n)
    if change_at is not None:
        amount[change_at:] += 15.0  # +1.5 sd from row change_at on
    ts = START + pd.to_timedelta(np.arange(first_minute, first_minute + n), unit="min")
    return pd.DataFrame({"ts": ts, "amount": amount, "age": rng.normal(40.0, 8.0, n)})


def _start(champion_file: Path, version: str = "1") -> tuple[App, Monitor, Recorder]:
    """A daemon start: a new app and monitor, the champion's profile read from its file once."""
    app = App(_config())
    champion = Profile.load(champion_file)
    monitor = Monitor.attach(app, lambda: (champion, "fraud", version))
    recorder = Recorder()
    app.host.register_plugin(recorder, "recorder")
    return app, monitor, recorder


def _arrive(app: App, uri: str, batch_id: str) -> None:
    app.bus.publish(DataArrived(batch_id=batch_id, uri=uri, source="test"))
    app.bus.join()


def _amount(report_uri: str) -> dict:
    report = json.loads(Path(report_uri).read_text())
    return next(c for c in report["columns"] if c["column"] == "amount")


@pytest.fixture
def champion_file() -> Path:
    with App(_config()) as app:
        assert "river" in app.host.plugins and not app.host.failures
        build_profile(_frame(2000, 0, -2000), app.config, app.registry, source="train.parquet").save("champion.json")
    return Path("champion.json")


def test_arlequin_on_data_arrived_online_state_survives_a_restart_with_timestamps(champion_file: Path) -> None:
    clean, shifted = _frame(1000, 1, 0), _frame(1000, 2, 1000, change_at=600)
    clean.to_parquet("b1.parquet")
    shifted.to_parquet("b2.parquet")
    state_file = Path("state/online/amount.adwin.json")

    app, _, recorder = _start(champion_file)
    with app:
        _arrive(app, "b1.parquet", "b1")
    [checked] = recorder.events
    assert isinstance(checked, BatchChecked) and not checked.drifted
    assert json.loads(state_file.read_text())["batches"] == ["b1"]

    app, _, recorder = _start(champion_file)  # a restart: new process state, same home
    with app:
        _arrive(app, "b2.parquet", "b2")
    checked, drift = recorder.events
    assert isinstance(drift, DriftDetected) and drift.drifted_columns == ("amount",) and drift.batch_id == "b2"
    amount = _amount(drift.report_uri)
    assert amount["details"]["stream_offset"] == 2000 + 1000  # continued after the warm-up and batch 1
    first = amount["details"]["first_detection"]
    assert 600 <= first < 800
    assert amount["details"]["timestamps"][0] == shifted["ts"][first].isoformat()
    assert amount["details"]["timestamps"][0] == (START + pd.Timedelta(minutes=1000 + first)).isoformat()

    # The same detections as one process that never stopped.
    config = _config()
    with App(config) as other:
        uninterrupted = Profile.load(champion_file)
        check_batch(uninterrupted, clean, config, other.registry)
        report = check_batch(uninterrupted, shifted, config, other.registry)
    assert (
        amount["details"]["detections"] == next(r for r in report.columns if r.column == "amount").details["detections"]
    )

    record = json.loads(state_file.read_text())
    assert record["batches"] == ["b1", "b2"] and record["champion"] == {"model_name": "fraud", "model_version": "1"}
    assert record["profile"]["n_seen"] == 2000 + 1000 + 1000


def test_arlequin_on_data_arrived_online_retried_batch_is_not_fed_twice(champion_file: Path) -> None:
    _frame(1000, 1, 0).to_parquet("b1.parquet")
    state_file = Path("state/online/amount.adwin.json")
    app, _, recorder = _start(champion_file)
    with app:
        _arrive(app, "b1.parquet", "b1")
        assert _amount(recorder.events[0].report_uri)["details"]["n_used"] == 1000
        saved = state_file.read_bytes()
        _arrive(app, "b1.parquet", "b1")  # `arlequin retry b1`, or a redelivery
    _, again = recorder.events
    retried = _amount(again.report_uri)
    assert retried["statistic"] is None and "already fed" in retried["details"]["skipped"]
    assert not again.drifted
    assert state_file.read_bytes() == saved


def test_arlequin_on_model_registered_promotion_resets_the_monitors_online_state(champion_file: Path) -> None:
    _frame(1000, 1, 0).to_parquet("b1.parquet")
    state_file = Path("state/online/amount.adwin.json")
    app, _, recorder = _start(champion_file)
    with app:
        _arrive(app, "b1.parquet", "b1")
        assert state_file.exists()
        app.bus.publish(ModelRegistered(model_name="fraud", model_version="2", run_id="r", promoted=False))
        app.bus.join()
        assert state_file.exists()  # registered but not promoted: the champion is unchanged
        app.bus.publish(ModelRegistered(model_name="fraud", model_version="2", run_id="r", promoted=True))
        app.bus.join()
        assert not state_file.exists()
        journal = [json.loads(line)["name"] for line in app.journal_path.read_text().splitlines()]
        assert "plugin-failed" not in journal

        # The next batch starts again from the champion's warm-up, not from the old stream.
        _arrive(app, "b1.parquet", "b1")
    assert _amount(recorder.events[-1].report_uri)["details"]["stream_offset"] == 2000
    assert json.loads(state_file.read_text())["batches"] == ["b1"]


def test_arlequin_on_data_arrived_online_state_of_another_champion_is_not_continued(champion_file: Path) -> None:
    _frame(1000, 1, 0).to_parquet("b1.parquet")
    app, _, _ = _start(champion_file, version="1")
    with app:
        _arrive(app, "b1.parquet", "b1")
    app, _, recorder = _start(champion_file, version="2")  # promoted while this process was down
    with app:
        _arrive(app, "b1.parquet", "b1")
    details = _amount(recorder.events[-1].report_uri)["details"]
    assert "skipped" not in details and details["stream_offset"] == 2000


def test_arlequin_on_data_arrived_batch_only_profile_touches_no_online_state() -> None:
    config = ArlequinConfig.model_validate({"arlequin": {"home": "state", "journal_fsync": False}})
    with App(config) as app:
        profile = build_profile(_frame(500, 0, 0).drop(columns="ts"), config, app.registry)
        monitor = Monitor.attach(app, lambda: (profile, "fraud", "1"))
        recorder = Recorder()
        app.host.register_plugin(recorder, "recorder")
        _frame(500, 1, 0).drop(columns="ts").to_parquet("b.parquet")
        _arrive(app, "b.parquet", "b")
    [checked] = recorder.events
    assert isinstance(checked, BatchChecked)
    assert monitor._online_store is None and not Path("state/online").exists()


def test_check_batch_notes_a_missing_timestamp_column(champion_file: Path) -> None:
    config = _config()
    with App(config) as app:
        report = check_batch(Profile.load(champion_file), _frame(300, 1, 0).drop(columns="ts"), config, app.registry)
    amount = next(r for r in report.columns if r.column == "amount")
    assert "timestamps" not in amount.details and "'ts'" in amount.details["timestamp_note"]
