"""Integration with a real ``mlflow server`` process on a free localhost port.

The server is started only after a first retrain failed against the (still closed)
port, so the test covers the outage and the recovery: the pending model is resumed
over HTTP, artifacts go through the server's artifact proxy, and the champion loads
back from ``models:/NAME@champion``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pyarrow as pa
import pytest
from training_helpers import labelled_frame

from arlequin_core.training.champion import champion_profile, list_models
from arlequin_core.training.errors import TrackingError
from arlequin_core.training.flow import resume, retrain
from arlequin_core.training.tracking import Tracking
from arlequin_sklearn.trainer import _features_of, model_input

pytestmark = pytest.mark.slow

STARTUP_SECONDS = 120


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"mlflow server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"mlflow server not healthy after {STARTUP_SECONDS}s:\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen) -> None:
    """Stop the server we started: its own process group (uvicorn workers included), by its PID."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture
def server_port() -> int:
    return free_port()


@pytest.fixture
def start_server(server_port: int, tmp_path: Path) -> Iterator:
    processes: list[subprocess.Popen] = []

    def start() -> str:
        root = tmp_path / "server"
        root.mkdir(exist_ok=True)
        log = root / "server.log"
        command = [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            f"sqlite:///{root / 'mlflow.db'}",
            "--artifacts-destination",
            str(root / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(server_port),
            "--workers",
            "1",
        ]
        env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
        with open(log, "wb") as out:
            process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=root, start_new_session=True
            )
        processes.append(process)
        url = f"http://127.0.0.1:{server_port}"
        wait_healthy(url, process, log)
        return url

    try:
        yield start
    finally:
        for process in processes:
            stop(process)


def test_outage_then_real_mlflow_server(make_app, write_batch, server_port: int, start_server, tmp_path) -> None:
    url = f"http://127.0.0.1:{server_port}"
    app = make_app(mlflow={"tracking_uri": url, "request_retries": 0, "request_timeout": 10})

    with pytest.raises(TrackingError, match=f"MLflow at {url} failed") as info:
        retrain(app, [write_batch("b1", n=1500, seed=1, concept="x1")])

    start_server()
    first = resume(app, info.value.pending_id)
    assert (first.version, first.promoted) == ("1", True)
    second = retrain(app, [write_batch("b2", n=1500, seed=2, concept="x2")])
    assert second.version == "2"
    assert second.promoted
    assert second.validation["champion_version"] == "1"

    rows = list_models(app.config)
    assert [(r["version"], r["aliases"]) for r in rows] == [("1", []), ("2", ["champion"])]
    profile, name, version = champion_profile(app.config)
    assert (name, version) == ("arlequin-model", "2")
    assert "x1" in profile.columns

    # Artifacts went through the server's proxy into its destination, not into our home or CWD.
    assert any((tmp_path / "server" / "artifacts").rglob("MLmodel"))
    assert not (tmp_path / "mlruns").exists()

    Tracking.from_config(app.config).activate()
    loaded = mlflow.pyfunc.load_model("models:/arlequin-model@champion")
    frame = labelled_frame(n=200, seed=9, concept="x2")
    native = mlflow.sklearn.load_model("models:/arlequin-model@champion")
    x = model_input(pa.Table.from_pandas(frame), _features_of(native))
    assert (np.asarray(loaded.predict(x)) == frame["y"].to_numpy()).mean() > 0.7
