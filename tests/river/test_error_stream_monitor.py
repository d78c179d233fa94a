"""The champion's errors watched by the drift monitor: ``[drift] error_detector`` fitted at
training on the held-out errors, then fed each labelled batch's errors, with a real MLflow
store, the scikit-learn trainer, synthetic transactions and the real bus."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from arlequin_core import hookimpl
from arlequin_core.app import App
from arlequin_core.config import ArlequinConfig
from arlequin_core.drift.profile import ERROR_COLUMN
from arlequin_core.errors import ConfigError
from arlequin_core.events import BatchChecked, BatchRejected, DataArrived, DriftDetected, Event
from arlequin_core.io import write_table_atomic
from arlequin_core.monitor import Monitor, champion_profile_provider
from arlequin_core.training.champion import champion_profile
from arlequin_core.training.flow import retrain
from arlequin_core.training.labels import LabelSpec
from arlequin_core.training.model_errors import batch_errors, champion_model, heldout_errors
from arlequin_river import ERROR_COLUMN as RIVER_ERROR_COLUMN
from arlequin_river import DdmDetector, error_stream
from arlequin_synth import TransactionGenerator

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

CONCEPT = "sudden:concept=card_testing,start=1"
ROWS = 4000


class Recorder:
    """Keeps every verdict event."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.lock = threading.Lock()

    @hookimpl
    def arlequin_on_batch_checked(self, event: BatchChecked) -> None:
        with self.lock:
            self.events.append(event)

    @hookimpl
    def arlequin_on_drift_detected(self, event: DriftDetected) -> None:
        with self.lock:
            self.events.append(event)

    @hookimpl
    def arlequin_on_batch_rejected(self, event: BatchRejected) -> None:
        with self.lock:
            self.events.append(event)


@pytest.fixture(autouse=True)
def mlflow_globals_restored() -> Iterator[None]:
    from arlequin_core.training.tracking import _restore, _snapshot

    saved = _snapshot()
    yield
    _restore(saved)


def _config(home: Path, **drift: object) -> ArlequinConfig:
    return ArlequinConfig.model_validate(
        {
            "arlequin": {"home": str(home), "journal_fsync": False},
            "data": {"label": "is_fraud", "timestamp": "timestamp", "exclude": ["transaction_id"]},
            # A rise of the error rate alone is drift: the column is critical (accepted before it exists in data).
            "drift": {"html": False, "error_detector": "ddm", "critical": [ERROR_COLUMN], **drift},
            "mlflow": {"request_retries": 0, "request_timeout": 5},
        }
    )


@pytest.fixture
def trained(isolated: Path) -> Iterator[tuple[App, TransactionGenerator]]:
    """An app whose champion (version 1) was trained on the synthetic reference with ``error_detector = "ddm"``."""
    generator = TransactionGenerator(scenario=CONCEPT, seed=3)
    write_table_atomic(generator.reference(2 * ROWS), str(isolated / "reference.parquet"))
    app = App(_config(isolated / "state"))
    try:
        result = retrain(app, [str(isolated / "reference.parquet")])
        assert result.promoted and result.version == "1"
        yield app, generator
    finally:
        app.close()


def _arrive(app: App, table: pa.Table, batch_id: str) -> None:
    write_table_atomic(table, f"{batch_id}.parquet")
    app.bus.publish(DataArrived(batch_id=batch_id, uri=f"{batch_id}.parquet", source="test"))
    app.bus.join()


def _column(event: BatchChecked | DriftDetected, name: str) -> dict:
    report = json.loads(Path(event.report_uri).read_text())
    return next(c for c in report["columns"] if c["column"] == name)


def test_error_column_names_agree() -> None:
    assert ERROR_COLUMN == RIVER_ERROR_COLUMN == "__error__"


def test_training_profiles_the_heldout_errors_as_a_column_not_a_feature(trained) -> None:
    app, _ = trained
    profile, name, version = champion_profile(app.config)
    entry = profile.columns[ERROR_COLUMN]
    assert (entry.kind, entry.detector, entry.dtype) == ("numeric", "ddm", "double")
    assert entry.threshold == DdmDetector.info.default_threshold and entry.missing == 0
    assert profile.data["error_column"] == ERROR_COLUMN
    trainer, model = champion_model(app.config, app.registry, name, version)
    assert ERROR_COLUMN not in model.feature_names_in_
    # The fitted reference is the champion's errors on its held-out rows: the seeded
    # training run again gives the same split and model, so the same errors.
    again = trainer.train(["reference.parquet"], heldout_uri="heldout.parquet")
    expected = heldout_errors(trainer, again.model, "heldout.parquet")
    assert entry.rows == expected.size == again.rows["heldout"] > 0
    assert entry.state == DdmDetector().fit(expected).to_profile()


def test_arlequin_on_data_arrived_feeds_the_champions_errors_to_ddm(trained) -> None:
    app, generator = trained
    Monitor.attach(app, champion_profile_provider(app.config))
    recorder = Recorder()
    app.host.register_plugin(recorder, "recorder")

    same = generator.batch(0, ROWS)  # start=1: batch 0 is still the old concept
    _arrive(app, same, "b0")
    [checked] = recorder.events
    errors = _column(checked, ERROR_COLUMN)
    assert not errors["drifted"] and errors["details"]["n_detections"] == 0
    assert errors["details"]["n_used"] == ROWS and "skipped" not in errors["details"]

    # The monitor's errors are the champion's, row by row.
    name, version = checked.model_name, checked.model_version
    trainer, model = champion_model(app.config, app.registry, name, version)
    y, proba = trainer.score(model, same)
    assert errors["details"]["n_used"] == y.size
    assert np.array_equal(batch_errors(trainer, model, same, "b0"), error_stream(y, (proba >= 0.5).astype(int)))

    recorder.events.clear()
    drifted = generator.batch(1, ROWS)  # fraud now follows the card-testing rule
    _arrive(app, drifted, "b1")
    events = recorder.events
    assert [type(e) for e in events] == [BatchChecked, DriftDetected]
    assert ERROR_COLUMN in events[1].drifted_columns
    errors = _column(events[1], ERROR_COLUMN)
    assert errors["drifted"] and errors["details"]["n_detections"] >= 1
    detections = errors["details"]["detections"]
    assert detections and all(0 <= row < ROWS for row in detections)
    warmup = champion_profile(app.config)[0].columns[ERROR_COLUMN].rows
    assert errors["details"]["stream_offset"] == warmup + ROWS  # continued after the held-out errors and b0

    state = json.loads(Path(app.home, "online", "__error__.ddm.json").read_text())
    assert state["batches"] == ["b0", "b1"]
    assert state["champion"] == {"model_name": name, "model_version": version}


def test_arlequin_on_data_arrived_skips_errors_of_an_unlabelled_batch(trained) -> None:
    app, generator = trained
    Monitor.attach(app, champion_profile_provider(app.config))
    recorder = Recorder()
    app.host.register_plugin(recorder, "recorder")

    _arrive(app, generator.batch(0, ROWS).drop_columns(["is_fraud"]), "unlabelled")
    [checked] = recorder.events
    assert isinstance(checked, BatchChecked) and ERROR_COLUMN not in checked.drifted_columns
    errors = _column(checked, ERROR_COLUMN)
    assert errors["details"]["skipped"] == (
        "the batch has no label column 'is_fraud' ([data] label), so the champion's errors are unknown"
    )
    assert errors["statistic"] is None and errors["missing_p_value"] is None and not errors["drifted"]
    amount = _column(checked, "amount")
    assert amount["p_value"] is not None and "skipped" not in amount["details"]
    # Not fed, so not recorded as fed: the same batch with its labels later is fed.
    assert not Path(app.home, "online", "__error__.ddm.json").exists()


def test_labels_missing_in_part_are_skipped_and_not_a_missing_rate_drift(trained) -> None:
    app, generator = trained
    batch = generator.batch(0, ROWS)
    labels = batch.column("is_fraud").to_pylist()
    half = pa.array([v if i % 2 else None for i, v in enumerate(labels)], type=pa.bool_())
    batch = batch.set_column(batch.column_names.index("is_fraud"), "is_fraud", half)
    Monitor.attach(app, champion_profile_provider(app.config))
    recorder = Recorder()
    app.host.register_plugin(recorder, "recorder")
    _arrive(app, batch, "half")
    [checked] = recorder.events
    errors = _column(checked, ERROR_COLUMN)
    assert errors["details"]["n_missing"] == ROWS // 2 and errors["details"]["n_used"] == ROWS // 2
    assert errors["missing_p_value"] is None and not errors["missing_drifted"]


def test_batch_errors_reason_when_no_row_is_labelled(trained) -> None:
    app, generator = trained
    _, name, version = champion_profile(app.config)
    trainer, model = champion_model(app.config, app.registry, name, version)
    batch = generator.batch(0, 100)
    batch = batch.set_column(batch.column_names.index("is_fraud"), "is_fraud", pa.nulls(100, pa.bool_()))
    assert batch_errors(trainer, model, batch, "b") == (
        "no row of the batch has a label yet, so the champion's errors are unknown"
    )
    assert LabelSpec.from_config(app.config).column == "is_fraud"


def test_reference_column_named_like_the_errors_is_refused(isolated: Path) -> None:
    from arlequin_core.drift.profile import build_profile

    config = _config(isolated / "state")
    with App(config) as app:
        with pytest.raises(ConfigError, match="reserved for the model's errors"):
            build_profile(pa.table({"x": [1.0, 2.0], ERROR_COLUMN: [0.0, 1.0]}), config, app.registry)
        with pytest.raises(ConfigError, match=r"drift\.error_detector: 'ks' cannot watch an error stream"):
            build_profile(
                pa.table({"x": [1.0, 2.0]}),
                _config(isolated / "state", error_detector="ks"),
                app.registry,
                errors=np.array([0.0, 1.0]),
            )


def test_without_error_detector_the_profile_has_no_error_column(isolated: Path) -> None:
    from arlequin_core.drift.profile import build_profile

    config = _config(isolated / "state", error_detector=None, critical=[])
    with App(config) as app:
        profile = build_profile(TransactionGenerator(seed=1).reference(500), config, app.registry)
        assert ERROR_COLUMN not in profile.columns and "error_column" not in profile.data
        with pytest.raises(ConfigError, match=r"error_detector is not set"):
            build_profile(TransactionGenerator(seed=1).reference(500), config, app.registry, errors=[0.0, 1.0])
