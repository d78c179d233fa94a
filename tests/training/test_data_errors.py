"""A retrain broken by its data is the data's error, not MLflow's (issue 20, item 8).

Real scikit-learn, real MLflow on SQLite, the real retrain sink.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from mlflow import MlflowClient
from training_helpers import labelled_frame

from arlequin_core.errors import InputError
from arlequin_core.events import DriftDetected
from arlequin_core.training import models as reg
from arlequin_core.training.errors import TrackingError
from arlequin_core.training.flow import pending_ids, retrain
from arlequin_core.training.tracking import Tracking
from arlequin_retrain.sink import RetrainSink

pytestmark = pytest.mark.slow


def _infinite(isolated: Path, name: str = "bad") -> str:
    frame = labelled_frame(n=1500, seed=3)
    frame["x1"] = np.inf
    path = isolated / "data" / f"{name}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)
    return str(path)


def test_infinite_values_fail_the_retrain_as_a_data_error_naming_file_and_column(
    make_app, write_batch, isolated: Path
) -> None:
    app = make_app()
    retrain(app, [write_batch("good", n=1500)])
    bad = _infinite(isolated)
    with pytest.raises(InputError) as info:
        retrain(app, [bad])
    message = str(info.value)
    assert not isinstance(info.value, TrackingError)
    assert bad in message and "column 'x1'" in message and "infinite" in message
    assert "not an MLflow error" in message and "MLflow at" not in message and "--resume" not in message
    assert pending_ids(app.config) == []  # nothing to resume: resuming would fail the same way
    tracking = Tracking.from_config(app.config)
    with tracking.scope() as client:
        champion = reg.alias_version(client, tracking.model_name, reg.CHAMPION)
        versions = MlflowClient().search_model_versions(f"name = '{tracking.model_name}'")
    assert str(champion.version) == "1"
    # The champion's kinds keep x1 a numeric feature, so the estimator refuses the batch at
    # fit time: no model of it exists to register (before kinds were carried, x1 was dropped,
    # a version 2 was trained and then rejected when scoring the champion on the new rows).
    assert [str(v.version) for v in versions] == ["1"]


def test_the_retrain_sink_does_not_retry_a_data_error(make_app, write_batch, isolated: Path) -> None:
    app = make_app()
    retrain(app, [write_batch("good", n=1500)])
    sink = RetrainSink({"max_attempts": 4, "backoff_initial": 0, "backoff_max": 0, "cooldown": 0}, app)
    bad = _infinite(isolated)
    sink.submit(DriftDetected(batch_id="b-bad", uri=bad, reason="x1 drifted", drift_share=1.0))
    result = sink.flush()
    sink.close()
    assert (result.delivered, result.failed) == (0, 1)
    (dead,) = sink.store.letters("retrain", state="dead")
    assert dead.attempts == 1 and dead.retryable is False
    assert "column 'x1'" in dead.error and "MLflow at" not in dead.error
