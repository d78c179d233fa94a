"""The local retrain sink when MLflow is unreachable: retried, then a dead letter with a
clear error; the trained model is kept in pending/ and nothing else stops."""

from __future__ import annotations

import socket
from pathlib import Path

from arlequin_core.app import App
from arlequin_core.config import ArlequinConfig
from arlequin_core.events import DriftDetected, SinkFailed
from arlequin_core.io import write_table_atomic
from arlequin_core.journal import read_journal
from arlequin_retrain.sink import RetrainSink
from arlequin_synth import TransactionGenerator


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once the socket is closed


def test_arlequin_on_drift_detected_retrain_sink_dead_letters_when_mlflow_is_down(tmp_path: Path) -> None:
    batch = tmp_path / "batch.parquet"
    write_table_atomic(TransactionGenerator(seed=1).batch(0, 3000), str(batch))
    config = ArlequinConfig.model_validate(
        {
            "arlequin": {"home": str(tmp_path / "state"), "journal_fsync": False},
            "data": {"label": "is_fraud", "timestamp": "timestamp", "exclude": ["transaction_id"]},
            "mlflow": {"tracking_uri": f"http://127.0.0.1:{_closed_port()}", "request_retries": 0},
        }
    )
    app = App(config)
    sink = RetrainSink({"max_attempts": 2, "backoff_initial": 0, "backoff_max": 0}, app)
    app.host.pm.register(sink, name="sink:retrain")
    drift = DriftDetected(batch_id="b1", uri=str(batch), reason="amount drifted", drift_share=0.5, model_version="1")
    app.bus.publish(drift)  # the hook records it; the sink's worker is not started: flush delivers here
    app.bus.join()
    result = sink.flush()
    assert (result.delivered, result.failed) == (0, 1)
    (dead,) = sink.store.letters("retrain", state="dead")
    assert dead.batch_id == "b1" and dead.attempts == 2
    app.bus.join()
    failed = [e for e in read_journal(app.journal_path) if isinstance(e, SinkFailed)]
    assert len(failed) == 1 and failed[0].sink == "retrain" and failed[0].batch_id == "b1"
    assert "127.0.0.1" in failed[0].error  # names the store it could not reach
    # The model trained before MLflow failed is kept, to be resumed (`arlequin train --resume`).
    assert list((tmp_path / "state" / "pending").iterdir())
    # The same batch is not retrained again by a repeated event.
    assert not sink.submit(drift)
    sink.close()
    app.close()
