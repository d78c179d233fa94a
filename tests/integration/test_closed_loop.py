"""The closed loop, in one process with real components: inotify source, ledger, bus,
drift monitor (champion's profile from a real MLflow store), local retrain sink,
scikit-learn training, MLflow registry and promotion."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from arlequin_core.app import App
from arlequin_core.config import ArlequinConfig
from arlequin_core.daemon import Daemon, build_sources
from arlequin_core.events import BatchChecked, DriftDetected, Event, ModelRegistered, SinkDelivered
from arlequin_core.io import write_table_atomic
from arlequin_core.journal import read_journal
from arlequin_core.training.champion import champion_info
from arlequin_core.training.flow import retrain
from arlequin_synth import TransactionGenerator

ROWS = 4000
DRIFT = "sudden:amount_scale=1.7,concept=card_testing,start=1"


def _app(home: Path, landing: Path) -> App:
    config = ArlequinConfig.model_validate(
        {
            "arlequin": {"home": str(home), "journal_fsync": False},
            "data": {"label": "is_fraud", "timestamp": "timestamp", "exclude": ["transaction_id"]},
            "drift": {"drift_share": 0.3, "critical": ["amount"], "html": False},
            # A tolerance this wide promotes every retrain: the test is about the loop, not the metric.
            "training": {"window": 2, "cooldown": 0, "tolerance": 1.0},
            "sources": {"landing": {"type": "local", "path": str(landing), "settle": 0.2}},
        }
    )
    return App(config)


@pytest.fixture
def loop(tmp_path: Path) -> Iterator[tuple[App, Daemon, Path, Path]]:
    landing, staging = tmp_path / "landing", tmp_path / "staging"
    landing.mkdir()
    staging.mkdir()
    app = _app(tmp_path / "state", landing)
    generator = TransactionGenerator(scenario=DRIFT, seed=3)
    reference = staging / "reference.parquet"
    write_table_atomic(generator.reference(ROWS), str(reference))
    for i in range(6):
        write_table_atomic(generator.batch(i, ROWS), str(staging / f"batch-{i}.parquet"))
    first = retrain(app, [str(reference)])
    assert first.promoted and first.version == "1"
    daemon = Daemon(app, sources=build_sources(app))
    daemon.start()
    try:
        yield app, daemon, landing, staging
    finally:
        daemon.stop(timeout=30)
        app.close()


def _events(app: App) -> list[Event]:
    return list(read_journal(app.journal_path))


def _wait(app: App, what: str, predicate, timeout: float = 90.0) -> list[Event]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = _events(app)
        if predicate(events):
            return events
        time.sleep(0.1)
    names = [(e.name, getattr(e, "uri", "")) for e in _events(app)]
    raise AssertionError(f"timed out waiting for {what}; journal: {names}")


def _of(events: list[Event], kind: type) -> list:
    return [e for e in events if isinstance(e, kind)]


def test_drift_retrains_promotes_and_moves_the_reference(loop) -> None:
    app, _daemon, landing, staging = loop
    os.replace(staging / "batch-0.parquet", landing / "batch-0.parquet")
    events = _wait(app, "the clean batch's verdict", lambda ev: len(_of(ev, BatchChecked)) == 1)
    clean = _of(events, BatchChecked)[0]
    assert not clean.drifted and clean.model_version == "1"

    os.replace(staging / "batch-1.parquet", landing / "batch-1.parquet")
    events = _wait(app, "the retrain", lambda ev: len(_of(ev, ModelRegistered)) == 2)  # v1, then the retrain
    drift = _of(events, DriftDetected)[0]
    assert "amount" in drift.drifted_columns and drift.model_version == "1"
    registered = _of(events, ModelRegistered)[1]
    assert registered.promoted and registered.model_version == "2"
    # Lineage: caused by the drift event, trained on the drifted batch and the clean one before it.
    assert registered.cause_event_id == drift.event_id
    assert registered.batch_ids == (clean.batch_id, drift.batch_id)
    assert champion_info(app.config)["model_version"] == "2"

    # The next batch is measured against the new champion's training data.
    os.replace(staging / "batch-2.parquet", landing / "batch-2.parquet")
    events = _wait(app, "the third verdict", lambda ev: len(_of(ev, BatchChecked)) == 3)
    assert _of(events, BatchChecked)[2].model_version == "2"


def test_a_burst_of_drifted_batches_causes_one_retrain(loop) -> None:
    app, _daemon, landing, staging = loop
    for i in range(1, 5):
        os.replace(staging / f"batch-{i}.parquet", landing / f"batch-{i}.parquet")

    def settled(ev: list[Event]) -> bool:
        drifted = {e.batch_id for e in _of(ev, DriftDetected)}
        handled = {e.batch_id for e in _of(ev, SinkDelivered) if e.sink == "retrain"}
        return len(_of(ev, BatchChecked)) == 4 and bool(drifted) and drifted <= handled

    _wait(app, "every batch checked and every drifted one handled by the retrain sink", settled)
    time.sleep(1.0)  # nothing more may come
    events = _events(app)
    drifted = {e.batch_id for e in _of(events, DriftDetected)}
    assert len(drifted) >= 2, "the burst landed before the retrain finished: several batches drifted vs v1"
    assert [e.model_version for e in _of(events, ModelRegistered)] == ["1", "2"]  # one retrain
    delivered = [e for e in _of(events, SinkDelivered) if e.sink == "retrain"]
    assert {e.batch_id for e in delivered} == drifted  # every drifted batch accounted for, once
    assert len(delivered) == len(drifted)
    skipped = [e for e in delivered if "skipped" in e.detail]
    assert all("champion is now version 2" in e.detail["skipped"] for e in skipped)
