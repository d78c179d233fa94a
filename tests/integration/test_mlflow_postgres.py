"""MLflow on a real PostgreSQL backend store, started the way docker/mlflow starts it.

A cluster is created with ``initdb`` in a temporary directory and started on a free
loopback port (tests/postgres.py); ``docker/mlflow/serve.py``, the MLflow image's
entrypoint, starts a real ``mlflow server`` on it with the password read from a file.
Then the retraining pipeline's commands run against that server, as the Jenkinsfile
runs them: train (the first champion), train a challenger on drifted data, validate,
promote; and the drift monitor measures a batch against the new champion's profile,
downloaded from the server. The rows in PostgreSQL are checked too: the registry
really lives there.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from postgres import Postgres, free_port, start_postgres, stop_postgres
from recorders import Recorder
from training.training_helpers import labelled_frame

from arlequin_core.app import App
from arlequin_core.config import load_config
from arlequin_core.events import BatchChecked, DataArrived
from arlequin_core.monitor import Monitor, champion_profile_provider

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SERVE = ROOT / "docker" / "mlflow" / "serve.py"
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    server = start_postgres()
    try:
        server.create_database("mlflow")
        yield server
    finally:
        stop_postgres(server)


@pytest.fixture(scope="module")
def mlflow_url(postgres: Postgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "MLFLOW_DB_HOST": "127.0.0.1",
        "MLFLOW_DB_PORT": str(postgres.port),
        "MLFLOW_DB_USER": postgres.user,
        "MLFLOW_DB_NAME": "mlflow",
        "MLFLOW_DB_PASSWORD_FILE": str(postgres.password_file),
        "MLFLOW_ARTIFACTS_DESTINATION": str(root / "artifacts"),
        "MLFLOW_HOST": "127.0.0.1",
        "MLFLOW_PORT": str(port),
        "MLFLOW_WORKERS": "1",
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    log = root / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(SERVE)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=root,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                pytest.fail(f"mlflow server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"mlflow server not healthy after 180 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        # The password came from the file: it is on no command line a `ps` shows.
        assert postgres.password not in Path(f"/proc/{process.pid}/cmdline").read_bytes().decode()
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def _arlequin(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(BIN / "arlequin"), "--config", str(config), "--log-format", "json", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
    )
    assert result.returncode == 0, f"arlequin {' '.join(args)} exited {result.returncode}:\n{result.stderr[-3000:]}"
    return result


def test_train_register_validate_promote_monitor_on_mlflow_backed_by_postgresql(
    postgres: Postgres, mlflow_url: str, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    labelled_frame(n=3000, seed=1, concept="x1").to_parquet(data / "reference.parquet", index=False)
    labelled_frame(n=3000, seed=2, shift=1.0, concept="x2").to_parquet(data / "drifted.parquet", index=False)
    labelled_frame(n=1500, seed=3, shift=1.0, concept="x2").to_parquet(data / "recent.parquet", index=False)
    labelled_frame(n=1500, seed=4, shift=1.0, concept="x2").to_parquet(data / "today.parquet", index=False)
    config = tmp_path / "arlequin.toml"
    config.write_text(
        f"""
[arlequin]
home = "{tmp_path / "state"}"
journal_fsync = false
[data]
label = "y"
exclude = ["id"]
[drift]
html = false
[mlflow]
tracking_uri = "{mlflow_url}"
experiment = "postgres-it"
model_name = "pg-model"
"""
    )
    _arlequin(config, "train", "--data", str(data / "reference.parquet"))  # v1, the first champion
    _arlequin(config, "train", "--data", str(data / "drifted.parquet"), "--no-promote")  # v2, the challenger
    _arlequin(config, "validate", "--data", str(data / "recent.parquet"), "--require-pass")
    _arlequin(config, "promote")

    # What the registry holds is in PostgreSQL's tables.
    with psycopg2.connect(postgres.dsn("mlflow")) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT version FROM model_versions WHERE name = 'pg-model' ORDER BY version")
        assert [row[0] for row in cursor.fetchall()] == [1, 2]
        cursor.execute("SELECT alias, version FROM registered_model_aliases WHERE name = 'pg-model' ORDER BY alias")
        aliases = dict(cursor.fetchall())
        assert aliases["champion"] == 2
        cursor.execute(
            "SELECT COUNT(*) FROM runs r JOIN experiments e ON r.experiment_id = e.experiment_id "
            "WHERE e.name = 'postgres-it'"
        )
        assert cursor.fetchone()[0] >= 2

    # The monitor measures a batch against the new champion's profile, fetched from the server.
    with App(load_config(config)) as app:
        monitor = Monitor.attach(app, champion_profile_provider(app.config))
        recorder = Recorder()
        app.host.register_plugin(recorder, "recorder")
        app.bus.publish(DataArrived(batch_id="today", uri=str(data / "today.parquet"), source="test"))
        app.bus.join()
        [checked, *_] = recorder.events
        assert isinstance(checked, BatchChecked), checked
        assert (checked.model_name, checked.model_version) == ("pg-model", "2")
        assert not checked.drifted  # the same distribution the champion was trained on
        assert (monitor.reports_dir / "today.json").exists()
