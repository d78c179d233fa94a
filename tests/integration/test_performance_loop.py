"""Retrain when it matters: with ``[drift] retrain_on = "performance"`` the daemon retrains on a
covariate shift that the champion's estimated performance says hurts it, and not on a
harmless one. Real components: inotify source, ledger, bus, drift monitor (champion and
its calibration from a real MLflow store), local retrain sink, scikit-learn."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from arlequin_core.app import App
from arlequin_core.config import ArlequinConfig
from arlequin_core.daemon import Daemon, build_sources
from arlequin_core.events import BatchChecked, DriftDetected, ModelRegistered
from arlequin_core.io import write_table_atomic
from arlequin_core.training.flow import retrain
from arlequin_synth import TransactionGenerator
from tests.integration.test_closed_loop import _of, _wait

ROWS = 20_000
#: account_balance is not in the fraud rule: the column drifts, the model does not care.
HARMLESS = "sudden:account_balance_scale=3,start=1"
#: Smaller amounts: far fewer confident frauds, and the champion's estimated F1 falls.
DAMAGING = "sudden:amount_scale=0.2,start=1"


@pytest.fixture
def loop(tmp_path: Path) -> Iterator[tuple[App, Path, Path]]:
    landing, staging = tmp_path / "landing", tmp_path / "staging"
    landing.mkdir()
    staging.mkdir()
    config = ArlequinConfig.model_validate(
        {
            "arlequin": {"home": str(tmp_path / "state"), "journal_fsync": False},
            "data": {"label": "is_fraud", "timestamp": "timestamp", "exclude": ["transaction_id"]},
            "drift": {
                "html": False,
                "drift_share": 0.05,  # any drifted column makes the columns' verdict drift
                "retrain_on": "performance",
                "performance_drop": {"metric": "f1", "max_drop": 0.05},
            },
            "training": {"window": 1, "cooldown": 0, "tolerance": 1.0},
            "sources": {"landing": {"type": "local", "path": str(landing), "settle": 0.2}},
        }
    )
    app = App(config)
    reference = staging / "reference.parquet"
    write_table_atomic(TransactionGenerator("none", seed=1).reference(60_000), str(reference))
    for name, spec in (("harmless", HARMLESS), ("damaging", DAMAGING)):
        # The labels come along so that the retrain can train on the batch; the estimate never reads them.
        batch = TransactionGenerator(spec, seed=1).draw(1, ROWS).table
        write_table_atomic(batch, str(staging / f"{name}.parquet"))
    assert retrain(app, [str(reference)]).version == "1"
    daemon = Daemon(app, sources=build_sources(app))
    daemon.start()
    try:
        yield app, landing, staging
    finally:
        daemon.stop(timeout=30)
        app.close()


def test_harmless_shift_does_not_retrain_and_a_damaging_one_does(loop) -> None:
    app, landing, staging = loop
    os.replace(staging / "harmless.parquet", landing / "harmless.parquet")
    events = _wait(app, "the harmless batch's verdict", lambda ev: len(_of(ev, BatchChecked)) == 1, timeout=180)
    harmless = _of(events, BatchChecked)[0]
    assert harmless.columns_drifted is True  # the column tests see the shift ...
    assert "account_balance" in harmless.drifted_columns
    assert harmless.performance_dropped is False  # ... the estimate says it does not hurt ...
    assert harmless.drifted is False and not _of(events, DriftDetected)  # ... so no retrain
    assert set(harmless.estimated_performance) == {"roc_auc", "precision", "recall", "f1"}

    os.replace(staging / "damaging.parquet", landing / "damaging.parquet")
    events = _wait(app, "the retrain", lambda ev: len(_of(ev, ModelRegistered)) == 2, timeout=300)
    damaging = _of(events, BatchChecked)[1]
    assert damaging.performance_dropped is True and damaging.drifted is True
    drift = _of(events, DriftDetected)[0]
    assert drift.batch_id == damaging.batch_id and "performance dropped" in drift.reason
    assert _of(events, ModelRegistered)[1].cause_event_id == drift.event_id
