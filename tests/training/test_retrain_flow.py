"""The retraining flow against a real MLflow SQLite store: versions, promotion, lineage, events."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pyarrow as pa
import pytest
from mlflow import MlflowClient
from training_helpers import labelled_frame

from arlequin_core.drift.profile import Profile
from arlequin_core.events import DriftDetected, ModelRegistered
from arlequin_core.journal import read_journal
from arlequin_core.training import models as reg
from arlequin_core.training.champion import champion_info, champion_profile, rollback_champion
from arlequin_core.training.flow import retrain
from arlequin_core.training.profiles import PROFILE_ARTIFACT, PROFILE_FILE
from arlequin_core.training.tracking import Tracking
from arlequin_sklearn.trainer import model_input

pytestmark = pytest.mark.slow


def client_of(app) -> MlflowClient:
    tracking = Tracking.from_config(app.config)
    tracking.activate()
    return MlflowClient(tracking.uri)


def aliases_of(client: MlflowClient) -> dict[str, str]:
    return {k: str(v) for k, v in client.get_registered_model("arlequin-model").aliases.items()}


def test_two_datasets_give_two_versions_and_the_second_is_promoted_only_when_it_passes(make_app, write_batch) -> None:
    app = make_app()
    first = retrain(app, [write_batch("old", n=3000, seed=1, concept="x1")])
    assert (first.version, first.promoted, first.reason) == ("1", True, "first model")
    assert aliases_of(client_of(app)) == {"champion": "1"}  # a promoted version is no longer the challenger

    # The relationship changed: the champion is poor on the new data, the challenger learned it.
    second = retrain(app, [write_batch("new", n=3000, seed=2, concept="x2")])
    assert second.version == "2"
    assert second.promoted, second.reason
    assert second.previous_champion == "1"
    assert second.validation["champion_version"] == "1"
    assert second.validation["challenger"] > second.validation["champion"] + 0.1
    assert aliases_of(client_of(app)) == {"champion": "2"}

    # A retrain that is clearly worse on log loss (crippled by regularisation) is rejected ...
    strict = make_app(training={"metric": "log_loss", "params": {"C": 1e-6}})
    third = retrain(strict, [write_batch("newer", n=3000, seed=3, concept="x2")])
    assert third.version == "3"
    assert not third.promoted
    assert third.reason.startswith(
        "significantly worse than the champion by more than 0 (non_inferior): log_loss challenger"
    )
    assert third.validation["method"] == "bootstrap"
    assert third.validation["low"] > 0  # log loss: a positive difference is worse
    client = client_of(app)
    v3 = client.get_model_version("arlequin-model", "3")
    assert v3.tags[reg.TAG_REJECTED] == "true"
    assert "log_loss" in v3.tags[reg.TAG_REJECTED_REASON]
    assert aliases_of(client) == {"champion": "2", "challenger": "3"}

    # ... unless the tolerance allows it.
    lenient = make_app(training={"metric": "log_loss", "params": {"C": 1e-6}, "tolerance": 1.0})
    fourth = retrain(lenient, [write_batch("newest", n=3000, seed=4, concept="x2")])
    assert fourth.promoted
    assert fourth.previous_champion == "2"
    assert [str(v.version) for v in reg.list_versions(client, "arlequin-model")] == ["1", "2", "3", "4"]


def test_champion_alias_loads_and_predicts(make_app, write_batch) -> None:
    app = make_app()
    result = retrain(app, [write_batch("b1", n=2000)])
    client_of(app)
    frame = labelled_frame(n=300, seed=11)
    loaded = mlflow.pyfunc.load_model("models:/arlequin-model@champion")
    assert loaded.metadata.run_id == result.run_id
    native = mlflow.sklearn.load_model("models:/arlequin-model@champion")
    x = model_input(pa.Table.from_pandas(frame), native_features(native))
    labels = np.asarray(loaded.predict(x))
    assert set(np.unique(labels)) <= {0, 1}
    accuracy = (labels == frame["y"].to_numpy()).mean()
    assert accuracy > 0.7


def native_features(model):
    from arlequin_sklearn.trainer import _features_of

    return _features_of(model)


def test_champion_run_carries_profile_metrics_lineage_and_drift_report(make_app, write_batch, isolated: Path) -> None:
    app = make_app()
    uri = write_batch("b1", n=2000)
    cause = DriftDetected(batch_id="batch-7", uri=uri, reason="x1 drifted", drift_share=0.5, drifted_columns=("x1",))
    report = {"drifted": True, "columns": {"x1": {"statistic": 0.4}}}
    result = retrain(app, [uri], cause=cause, drift_report=report)
    client = client_of(app)
    run = client.get_run(result.run_id)

    assert set(run.data.metrics) >= {"roc_auc", "pr_auc", "f1", "precision", "recall", "log_loss"}
    assert run.data.metrics["roc_auc"] == pytest.approx(result.metrics["roc_auc"])
    params = run.data.params
    assert params["trainer"] == "sklearn-logreg"
    assert params["label"] == "column:y"
    assert params["features.numeric"] == "x1,x2"
    assert json.loads(params["data_uris"]) == [uri]
    assert params["drift.cause_event_id"] == cause.event_id
    assert params["model.max_iter"] == "1000"
    assert run.data.tags["arlequin.cause_event_id"] == cause.event_id
    assert json.loads(run.data.tags["arlequin.batch_ids"]) == ["batch-7"]

    download = isolated / "download"
    path = client.download_artifacts(result.run_id, "arlequin", str(download))
    profile = Profile.load(Path(path) / PROFILE_FILE)
    assert run.data.tags["arlequin.profile"] == PROFILE_ARTIFACT
    assert set(profile.columns) == {"x1", "x2", "c", "flag"}
    assert profile.rows == result.validation["rows"] * 4  # the training split (80%)
    lineage = json.loads((Path(path) / "lineage.json").read_text())
    assert lineage["data_uris"] == [uri]
    assert lineage["cause"]["event_id"] == cause.event_id
    assert json.loads((Path(path) / "drift_report.json").read_text()) == report

    # Artifacts live beside the SQLite store, never in a stray ./mlruns.
    assert not (isolated / "mlruns").exists()
    assert run.info.artifact_uri.startswith((isolated / ".arlequin" / "mlartifacts").as_uri())
    # Nothing is left pending once the model is registered.
    assert not any((isolated / ".arlequin" / "pending").iterdir())


def test_model_registered_event_is_published_and_journalled(make_app, write_batch) -> None:
    app = make_app()
    uri = write_batch("b1", n=1000)
    cause = DriftDetected(batch_id="b-1", uri=uri, reason="r", drift_share=1.0)
    result = retrain(app, [uri], cause=cause, batch_ids=["b-0", "b-1"])
    app.bus.join()
    events = [e for e in read_journal(app.journal_path) if isinstance(e, ModelRegistered)]
    assert len(events) == 1
    event = events[0]
    assert event.event_id == result.event_id
    assert (event.model_name, event.model_version, event.run_id) == ("arlequin-model", "1", result.run_id)
    assert event.promoted is True
    assert event.cause_event_id == cause.event_id
    assert event.batch_ids == ("b-0", "b-1")
    assert event.metrics["roc_auc"] == pytest.approx(result.metrics["roc_auc"])


def test_champion_profile_follows_the_champion(make_app, write_batch) -> None:
    app = make_app()
    assert champion_profile(app.config) is None
    assert champion_info(app.config) is None
    first = retrain(app, [write_batch("old", n=1500, seed=1, concept="x1")])
    assert champion_info(app.config) == {
        "model_name": "arlequin-model",
        "model_version": "1",
        "run_id": first.run_id,
        "trainer": "sklearn-logreg",
    }
    profile, name, version = champion_profile(app.config)
    assert (name, version) == ("arlequin-model", "1")
    mean_v1 = profile.columns["x1"].summary
    retrain(app, [write_batch("new", n=1500, seed=2, concept="x2", shift=3.0)])
    profile2, _, version2 = champion_profile(app.config)
    assert version2 == "2"
    assert profile2.columns["x1"].summary != mean_v1
    rollback_champion(app)
    _, _, version3 = champion_profile(app.config)
    assert version3 == "1"


def test_champion_profile_is_downloaded_once_per_version_into_the_apps_own_cache(make_app, write_batch) -> None:
    app, other = make_app(), make_app()  # two apps on the same store, in one process
    retrain(app, [write_batch("a", n=1000, seed=1)])
    profile, _, version = champion_profile(app.config, app.profile_cache)
    assert champion_profile(app.config, app.profile_cache)[0] is profile  # from the cache
    assert len(app.profile_cache) == 1 and len(other.profile_cache) == 0
    mine, _, same_version = champion_profile(other.config, other.profile_cache)
    assert same_version == version and mine is not profile and mine.to_dict() == profile.to_dict()
    assert champion_profile(app.config)[0] is not profile  # no cache: read again


def test_no_promote_registers_and_validates_but_keeps_the_champion(make_app, write_batch) -> None:
    app = make_app()
    retrain(app, [write_batch("a", n=1500, seed=1)])
    result = retrain(app, [write_batch("b", n=1500, seed=2, concept="x2")], promote=False)
    assert not result.promoted
    assert result.validation["passed"]
    assert "--no-promote" in result.reason
    assert aliases_of(client_of(app)) == {"champion": "1", "challenger": "2"}


def test_label_rule_trains_without_a_label_column(make_app, isolated: Path) -> None:
    frame = labelled_frame(n=2000).drop(columns=["y"])
    path = isolated / "unlabelled.parquet"
    frame.to_parquet(path)
    app = make_app(data={"label": None}, training={"label_rule": "x1 + x2 / 4 > 0.5 and c != 'd'"})
    result = retrain(app, [str(path)])
    run = client_of(app).get_run(result.run_id)
    assert run.data.params["label"] == "rule:x1 + x2 / 4 > 0.5 and c != 'd'"
    # The rule's inputs are the outcome: they are not features.
    assert run.data.params["features.numeric"] == ""
    assert run.data.params["features.categorical"] == "flag"
    # x2 is missing on ~5% of rows: the rule is null there unless c == 'd' makes it false.
    assert 50 < int(run.data.params["rows.unlabelled"]) < 150


def test_drift_report_is_read_from_the_cause_when_not_given(make_app, write_batch, isolated: Path) -> None:
    app = make_app()
    report_path = isolated / "reports" / "batch-9.json"
    report_path.parent.mkdir()
    report_path.write_text(json.dumps({"drifted": True, "drift_share": 0.75}), encoding="utf-8")
    uri = write_batch("b1", n=800)
    cause = DriftDetected(batch_id="batch-9", uri=uri, reason="r", drift_share=0.75, report_uri=str(report_path))
    result = retrain(app, [uri], cause=cause)
    client = client_of(app)
    path = client.download_artifacts(result.run_id, "arlequin/drift_report.json", str(isolated / "dl"))
    assert json.loads(Path(path).read_text()) == {"drifted": True, "drift_share": 0.75}
    assert client.get_run(result.run_id).data.tags["arlequin.drift_report_uri"] == str(report_path)


def test_retrain_leaves_the_process_mlflow_uris_as_they_were(make_app, write_batch, isolated: Path) -> None:
    elsewhere = f"sqlite:///{isolated / 'elsewhere.db'}"
    mlflow.set_tracking_uri(elsewhere)
    mlflow.set_registry_uri(elsewhere)
    result = retrain(make_app(), [write_batch("b1", n=800)])
    assert result.version == "1"
    assert mlflow.get_tracking_uri() == elsewhere
    assert mlflow.get_registry_uri() == elsewhere
    assert not (isolated / "elsewhere.db").exists()
