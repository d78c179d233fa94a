"""MLflow unreachable or failing mid-run: a clear error, nothing lost, and resume finishes the job."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import mlflow.pyfunc
import pytest
from click.testing import CliRunner
from mlflow import MlflowClient

from arlequin_core.cli import main
from arlequin_core.errors import ArlequinError
from arlequin_core.secrets import register_secret
from arlequin_core.training.errors import TrackingError
from arlequin_core.training.flow import pending_ids, resume, retrain
from arlequin_core.training.pending import Pending
from arlequin_core.training.run_log import training_params
from arlequin_core.training.tracking import Tracking, safe_uri

pytestmark = pytest.mark.slow


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_tracking_server_keeps_the_model_and_resume_logs_it(make_app, write_batch, isolated: Path) -> None:
    port = closed_port()
    down = make_app(mlflow={"tracking_uri": f"http://127.0.0.1:{port}"})
    with pytest.raises(TrackingError) as info:
        retrain(down, [write_batch("b1", n=1500)])
    err = info.value
    message = str(err)
    assert isinstance(err, ArlequinError)
    assert f"MLflow at http://127.0.0.1:{port} failed while connecting" in message
    assert f"arlequin train --resume {err.pending_id}" in message
    assert err.exit_code == 1

    pending = Pending.open(down.config.home, err.pending_id)
    assert pending.state["done"] == []
    assert "run_id" not in pending.state
    # Everything needed is on disk, and the model works on its own.
    assert (pending.model_dir / "MLmodel").is_file()
    assert pending.heldout.is_file()
    assert pending.profile.is_file()
    assert mlflow.pyfunc.load_model(str(pending.model_dir)).metadata.signature is not None
    assert pending_ids(down.config) == [err.pending_id]

    # MLflow is back (here: the embedded store): resume without retraining.
    up = make_app()
    result = resume(up, err.pending_id)
    assert (result.version, result.promoted) == ("1", True)
    assert result.pending_id == err.pending_id
    assert not pending.path.exists()
    assert pending_ids(up.config) == []


def test_failure_mid_run_resumes_the_same_run_without_a_second_version(make_app, write_batch, isolated: Path) -> None:
    app = make_app()
    blocker = isolated / ".arlequin" / "mlartifacts"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("not a directory")  # the artifact store cannot be created: fails after the run exists
    with pytest.raises(TrackingError, match="failed while logging the profile and lineage") as info:
        retrain(app, [write_batch("b1", n=1500)])
    pending = Pending.open(app.config.home, info.value.pending_id)
    run_id = pending.state["run_id"]
    assert pending.state["done"] == ["run", "params"]
    tracking = Tracking.from_config(app.config)
    tracking.activate()
    client = MlflowClient(tracking.uri)
    assert client.get_run(run_id).info.status == "FAILED"

    blocker.unlink()
    runner = CliRunner()
    config = isolated / "arlequin.toml"
    config.write_text(
        f'[arlequin]\nhome = "{isolated / ".arlequin"}"\n[data]\nlabel = "y"\nexclude = ["id"]\n', encoding="utf-8"
    )
    out = runner.invoke(main, ["--config", str(config), "train", "--resume", "--json"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["run_id"] == run_id
    assert result["version"] == "1"
    assert client.get_run(run_id).info.status == "FINISHED"
    assert len(client.search_model_versions("name = 'arlequin-model'")) == 1
    assert not pending.path.exists()


def test_cli_reports_tracking_failure_as_one_line_with_exit_1(write_batch, isolated: Path) -> None:
    port = closed_port()
    config = isolated / "arlequin.toml"
    config.write_text(
        f'[arlequin]\nhome = "{isolated / ".arlequin"}"\n[data]\nlabel = "y"\n'
        f'[mlflow]\ntracking_uri = "http://127.0.0.1:{port}"\nrequest_retries = 0\n',
        encoding="utf-8",
    )
    out = CliRunner().invoke(main, ["--config", str(config), "train", "--data", write_batch("b1", n=500)])
    assert out.exit_code == 1
    assert "error: MLflow at" in out.output
    assert "arlequin train --resume" in out.output
    assert "Traceback" not in out.output


def test_resume_of_unknown_id_lists_the_pending_ones(make_app) -> None:
    app = make_app()
    with pytest.raises(ArlequinError, match=r"no pending training 'nope'.*pending: none"):
        resume(app, "nope")


def test_params_never_carry_secrets() -> None:
    register_secret("s3cr3t-Token-42")
    state = {
        "trainer": "sklearn-logreg",
        "label": "column:y",
        "features": {"numeric": ["x"], "categorical": []},
        "rows": {"train": 1, "heldout": 1, "unlabelled": 0},
        "data_uris": [safe_uri("webhdfs://bob:hunter2pass@namenode:9870/data/b1.parquet"), "s3://b/s3cr3t-Token-42/x"],
        "params": {"C": 1.0, "api_token": "s3cr3t-Token-42", "note": "uses s3cr3t-Token-42"},
        "cause": None,
    }
    params = training_params(state)
    text = json.dumps(params)
    assert "hunter2pass" not in text
    assert "s3cr3t-Token-42" not in text
    assert "model.api_token" not in params
    assert "bob:***@namenode:9870" in params["data_uris"]
    assert params["model.C"] == "1.0"


def test_secrets_from_config_do_not_reach_mlflow_or_the_journal(write_batch, isolated: Path, monkeypatch) -> None:
    monkeypatch.setenv("ARLEQUIN_TEST_MLFLOW_TOKEN", "tok-VERY-secret-991")
    config = isolated / "arlequin.toml"
    config.write_text(
        f'[arlequin]\nhome = "{isolated / ".arlequin"}"\n[data]\nlabel = "y"\n'
        '[mlflow]\ntoken = "${ARLEQUIN_TEST_MLFLOW_TOKEN}"\n',
        encoding="utf-8",
    )
    out = CliRunner().invoke(main, ["--config", str(config), "train", "--data", write_batch("b1", n=500)])
    assert out.exit_code == 0, out.output
    assert "tok-VERY-secret-991" not in out.output
    home = isolated / ".arlequin"
    for path in home.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".jsonl", ".yaml", ".txt", "") and path.stat().st_size < 5e6:
            assert b"tok-VERY-secret-991" not in path.read_bytes(), path
    assert b"tok-VERY-secret-991" not in (home / "mlflow.db").read_bytes()


def test_crash_after_registration_does_not_register_twice(make_app, write_batch, monkeypatch) -> None:
    from arlequin_core.training import flow

    app = make_app()
    retrain(app, [write_batch("a", n=1000, seed=1)])
    real = flow._validate_pending

    def crash(*args, **kwargs):
        raise ConnectionError("tracking server went away")

    # Fault injection: the process loses MLflow right after the version was created.
    monkeypatch.setattr(flow, "_validate_pending", crash)
    with pytest.raises(TrackingError, match="failed while validating against the champion") as info:
        retrain(app, [write_batch("b", n=1000, seed=2)])
    pending = Pending.open(app.config.home, info.value.pending_id)
    assert pending.state["done"] == ["run", "params", "artifacts", "model", "register"]
    assert pending.state["version"] == "2"

    monkeypatch.setattr(flow, "_validate_pending", real)
    result = resume(app, info.value.pending_id)
    assert result.version == "2"
    assert result.validation["champion_version"] == "1"
    tracking = Tracking.from_config(app.config)
    tracking.activate()
    versions = MlflowClient(tracking.uri).search_model_versions("name = 'arlequin-model'")
    assert sorted(str(v.version) for v in versions) == ["1", "2"]


def test_crash_inside_registration_reuses_the_version_of_the_run(make_app, write_batch, monkeypatch) -> None:
    app = make_app()
    real = MlflowClient.set_registered_model_alias

    def crash(self, name, alias, version):
        raise ConnectionError("tracking server went away")

    # Fault injection: the version exists, but the process dies before recording it.
    monkeypatch.setattr(MlflowClient, "set_registered_model_alias", crash)
    with pytest.raises(TrackingError, match="failed while registering the model version") as info:
        retrain(app, [write_batch("a", n=1000)])
    monkeypatch.setattr(MlflowClient, "set_registered_model_alias", real)
    result = resume(app, info.value.pending_id)
    assert (result.version, result.promoted) == ("1", True)
    tracking = Tracking.from_config(app.config)
    tracking.activate()
    assert len(MlflowClient(tracking.uri).search_model_versions("name = 'arlequin-model'")) == 1
