"""Data-quality findings: garbage is reported as such, not as drift, and never trained on (issue 20, item 7).

The real monitor on a real bus and journal, both engines (the batch in memory, and
streamed by Arrow), the real ledger plugin and the real retrain sink's window.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from recorders import Recorder

from arlequin_core import hookimpl
from arlequin_core.app import App
from arlequin_core.config import ArlequinConfig
from arlequin_core.drift import build_profile
from arlequin_core.events import BatchChecked, DataArrived, DataQualityFailed, DriftDetected
from arlequin_core.ledger import LedgerPlugin, open_ledger
from arlequin_core.monitor import Monitor
from arlequin_core.sources.base import Landed


def _app(engine: str = "memory", **drift) -> App:
    config = ArlequinConfig.model_validate(
        {
            "arlequin": {"home": "state", "journal_fsync": False},
            "data": {"label": "label"},
            "drift": {"drift_share": 0.3, "html": False, "engine": engine, **drift},
        }
    )
    return App(config)


class QualityHook:
    """A plugin with the new hook, recording what it gets."""

    def __init__(self) -> None:
        self.seen: list[DataQualityFailed] = []

    @hookimpl
    def arlequin_on_data_quality_failed(self, event: DataQualityFailed) -> None:
        self.seen.append(event)


def _setup(app: App, make_frame):
    profile = build_profile(make_frame(3000, 0), app.config, app.registry, source="train.parquet")
    Monitor.attach(app, lambda: (profile, "churn", "7"))
    recorder, hook = Recorder(), QualityHook()
    app.host.register_plugin(recorder, "recorder")
    app.host.register_plugin(hook, "quality-hook")
    ledger = open_ledger(app.home)
    app.host.register_plugin(LedgerPlugin(ledger), "ledger")
    return recorder, hook, ledger


def _arrive(app: App, ledger, path: str, name: str) -> str:
    """Record and claim the batch at ``path`` as the daemon does, then hand it to the monitor."""
    landed = Landed(str(Path(path).resolve()), 1, 1.0, "file", "test")
    ledger.observe(landed)
    batch = ledger.claim(landed.batch_id)
    app.bus.publish(DataArrived(batch_id=batch.batch_id, uri=batch.uri, source="test"))
    app.bus.join()
    return batch.batch_id


@pytest.mark.parametrize("engine", ["memory", "arrow"])
def test_arlequin_on_data_quality_failed_for_all_missing_infinite_and_constant_columns(engine, make_frame) -> None:
    with _app(engine) as app:
        recorder, hook, ledger = _setup(app, make_frame)
        bad = make_frame(2000, 1)
        bad["age"] = np.nan  # all missing
        bad["income"] = np.inf  # all infinite
        bad["colour"] = "red"  # constant where the reference has three colours
        bad.to_parquet("bad.parquet")
        batch_id = _arrive(app, ledger, "bad.parquet", "bad")
        (event,) = hook.seen
        assert sorted(event.rules) == ["constant", "missing", "non-finite"]
        assert set(event.columns) == {"age", "income", "colour"} and event.counts_as_drift is False
        assert any("'income'" in f and "no finite value" in f for f in event.findings)
        checked = [e for e in recorder.events if isinstance(e, BatchChecked)]
        assert len(checked) == 1 and checked[0].drifted is False and checked[0].quality == event.findings
        assert not [e for e in recorder.events if isinstance(e, DriftDetected)]  # not drift: no retrain
        report = json.loads(Path(checked[0].report_uri).read_text())
        assert {f["column"] for f in report["quality"]} == {"age", "income", "colour"}
        assert report["drifted"] is False and report["reason"].startswith("not counted as drift")
        batch = ledger.get(batch_id)
        assert batch.state == "done" and batch.reason.startswith("data quality: ")
        ledger.close()


def test_a_clean_batch_has_no_findings_and_drift_stays_drift(make_frame) -> None:
    with _app() as app:
        recorder, hook, ledger = _setup(app, make_frame)
        make_frame(2000, 1, scale=1.5, shift_categories=True).to_parquet("drifted.parquet")
        _arrive(app, ledger, "drifted.parquet", "d")
        assert hook.seen == []
        assert [type(e) for e in recorder.events] == [BatchChecked, DriftDetected]
        assert recorder.events[0].quality == ()
        ledger.close()


def test_quality_is_drift_lets_a_finding_count_as_drift_but_the_batch_is_still_not_trained_on(make_frame) -> None:
    with _app(quality_is_drift=True) as app:
        recorder, hook, ledger = _setup(app, make_frame)
        bad = make_frame(2000, 1)
        bad["age"] = np.nan
        bad.to_parquet("bad.parquet")
        batch_id = _arrive(app, ledger, "bad.parquet", "bad")
        (event,) = hook.seen
        assert event.counts_as_drift is True
        drift = [e for e in recorder.events if isinstance(e, DriftDetected)]
        assert len(drift) == 1
        from arlequin_retrain.sink import RetrainSink

        sink = RetrainSink({"cooldown": 0}, app)
        sink.submit(drift[0])
        (letter,) = sink.store.claim("retrain")
        receipt = sink.send([letter])  # decided from the ledger, before any training
        sink.close()
        assert receipt.target == "(no retrain)" and "failed data-quality checks" in receipt.detail["skipped"]
        assert ledger.get(batch_id).reason.startswith("data quality: column 'age': all 2000 values are missing")
        ledger.close()


def test_far_fewer_rows_than_usual_is_a_finding_once_there_is_a_history(make_frame) -> None:
    with _app() as app:
        _, hook, ledger = _setup(app, make_frame)
        for i in range(5):
            make_frame(1000, 10 + i).to_parquet(f"usual-{i}.parquet")
            _arrive(app, ledger, f"usual-{i}.parquet", f"u{i}")
        assert hook.seen == []
        make_frame(40, 20).to_parquet("tiny.parquet")
        _arrive(app, ledger, "tiny.parquet", "tiny")
        (event,) = hook.seen
        assert event.rules == ("few-rows",) and "40 rows, far fewer than usual (median 1000" in event.findings[0]
        ledger.close()


def test_the_retrain_window_skips_batches_that_failed_the_quality_checks(make_frame) -> None:
    with _app() as app:
        _, _, ledger = _setup(app, make_frame)
        bad = make_frame(2000, 1)
        bad["score"] = np.inf
        bad.to_parquet("bad.parquet")
        bad_id = _arrive(app, ledger, "bad.parquet", "bad")
        make_frame(2000, 2).to_parquet("good.parquet")
        good_id = _arrive(app, ledger, "good.parquet", "good")
        from arlequin_retrain.sink import RetrainSink

        sink = RetrainSink({"cooldown": 0, "window": 5}, app)
        drift = DriftDetected(batch_id="new", uri="new.parquet", reason="x", drift_share=1.0)
        sink.submit(drift)
        (letter,) = sink.store.claim("retrain")
        _, ids = sink._window([letter])
        sink.close()
        assert good_id in ids and bad_id not in ids
        ledger.close()


def test_a_reference_whose_critical_column_is_entirely_missing_blames_the_data_not_the_config(make_frame) -> None:
    from arlequin_core.errors import ConfigError, InputError

    with _app(critical=["age"]) as app:
        frame = make_frame(500, 0)
        frame["age"] = np.nan
        with pytest.raises(InputError) as info:
            build_profile(frame, app.config, app.registry, source="window.parquet")
        assert not isinstance(info.value, ConfigError)
        message = str(info.value)
        assert message.startswith("window.parquet: critical column 'age': every value is missing in the reference")
        assert "not a tested column" not in message
