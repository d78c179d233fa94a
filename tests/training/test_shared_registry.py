"""Two daemons (two homes) sharing one MLflow registry retrain a drifted batch once (issue 20, item 6).

Real MLflow on one SQLite store, two real Apps with their own homes and ledgers, the
real retrain sink in each.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from mlflow import MlflowClient
from training_helpers import make_config

from arlequin_core.app import App
from arlequin_core.events import DriftDetected
from arlequin_core.training import answers
from arlequin_core.training.flow import retrain
from arlequin_core.training.tracking import Tracking
from arlequin_retrain.sink import RetrainSink

pytestmark = pytest.mark.slow


@pytest.fixture
def two_daemons(isolated: Path, write_batch):
    shared = f"sqlite:///{isolated / 'shared' / 'mlflow.db'}"
    apps = [App(make_config(isolated / home, mlflow={"tracking_uri": shared})) for home in ("home-a", "home-b")]
    retrain(apps[0], [write_batch("reference", n=1500)])  # the champion, version 1
    yield apps
    for app in apps:
        app.close()


def _sink(app: App) -> RetrainSink:
    return RetrainSink({"backoff_initial": 0, "backoff_max": 0, "cooldown": 0, "max_attempts": 2}, app)


def _versions(app: App) -> list[str]:
    tracking = Tracking.from_config(app.config)
    with tracking.scope():
        found = MlflowClient().search_model_versions(f"name = '{tracking.model_name}'")
    return sorted(str(v.version) for v in found)


def _drift(uri: str) -> DriftDetected:
    return DriftDetected(batch_id="b-shared", uri=uri, reason="x1 drifted", drift_share=0.5, model_version="1")


def test_the_second_daemon_finds_the_answer_in_the_registry_and_does_not_retrain(two_daemons, write_batch) -> None:
    first, second = two_daemons
    batch = write_batch("drifted", n=1500, seed=5, shift=1.5)
    # The first daemon answers the drift with version 2, which is not promoted (the champion
    # stays version 1, so the second daemon's drift event is not superseded by a new champion).
    answered = retrain(first, [batch], cause=_drift(batch), promote=False)
    assert (answered.version, answered.promoted) == ("2", False)
    sink = _sink(second)
    sink.submit(_drift(batch))
    assert sink.flush().delivered == 1
    sink.close()
    assert _versions(first) == ["1", "2"]  # one retrain for one drifted batch, not two
    (letter,) = _sink_letters(second)
    assert "answered already by arlequin-model version 2" in letter.detail["skipped"]


def _sink_letters(app: App):
    sink = _sink(app)
    try:
        return sink.store.letters("retrain", state="delivered")
    finally:
        sink.close()


def test_a_live_claim_of_another_process_is_respected_and_a_stale_one_taken_over(two_daemons, write_batch) -> None:
    first, _ = two_daemons
    batch = write_batch("drifted", n=1500, seed=5, shift=1.5)
    tracking = Tracking.from_config(first.config)
    key = answers.CLAIM_PREFIX + "b-shared"
    with tracking.scope() as client:
        client.set_registered_model_tag(tracking.model_name, key, json.dumps({"owner": "other:1", "at": time.time()}))
    skipped = retrain(first, [batch], cause=_drift(batch))
    assert skipped.extra["skipped"].startswith("batch b-shared is being retrained by other:1")
    assert _versions(first) == ["1"]
    stale = time.time() - answers.CLAIM_TTL - 1
    with tracking.scope() as client:
        client.set_registered_model_tag(tracking.model_name, key, json.dumps({"owner": "other:1", "at": stale}))
    done = retrain(first, [batch], cause=_drift(batch))
    assert done.version == "2" and not done.extra
    with tracking.scope() as client:
        assert key not in client.get_registered_model(tracking.model_name).tags  # released after registering
        assert client.get_model_version(tracking.model_name, "2").tags[answers.ANSWERS_PREFIX + "b-shared"] == "true"
