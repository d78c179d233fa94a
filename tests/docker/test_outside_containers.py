"""The commands the images run, run here, outside containers, with the same files.

The watcher image runs ``arlequin watch`` with ``ARLEQUIN_CONFIG`` pointing at
docker/arlequin/arlequin.toml, and checks its health with
docker/arlequin/healthcheck.py. Here the same command reads the same file, with the
services' addresses swapped for loopback ones through the same environment variables
Compose sets: the landing directory on the test run's real HDFS (Hadoop's
MiniDFSCluster), polled over WebHDFS as in the stack; MLflow on a local store; Jenkins
as the test server that speaks its remote API (tests/sinks); a free metrics port.
(docker/mlflow/serve.py runs in tests/integration/test_mlflow_postgres.py, the
Jenkinsfile's steps in tests/sinks/test_jenkinsfile_e2e.py.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families
from sinks.servers import FakeJenkins, Job

from .stack import BIN, CONFIG, DOCKER, environment, seed_job_name, seed_job_parameters

HEALTHCHECK = DOCKER / "arlequin" / "healthcheck.py"
TOKEN = "11" + "5c0ffee" * 4 + "0000"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _samples(url: str) -> dict[tuple[str, tuple], float]:
    text = requests.get(url, timeout=5).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
    }


def _wait(predicate, timeout: float, what: str, process: subprocess.Popen, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"arlequin watch exited {process.returncode} while waiting for {what}:\n{log.read_text()[-4000:]}"
            )
        try:
            value = predicate()
        except (requests.RequestException, KeyError):
            value = None
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}:\n{log.read_text()[-4000:]}")


def test_the_watcher_images_command_and_health_check_run_outside_a_container(tmp_path: Path, hdfs, hdfs_dir) -> None:
    from arlequin_core.io import filesystem

    base = {k: v for k, v in os.environ.items() if not k.startswith("ARLEQUIN_")}
    base |= {"MLFLOW_DISABLE_TELEMETRY": "true", "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    staging = tmp_path / "staging"
    fs, landing = filesystem(hdfs_dir)  # written through hdfs://, read by the watcher over webhdfs://
    watch_uri = hdfs.webhdfs.rstrip("/") + landing
    generate = [
        str(BIN / "arlequin"),
        "generate",
        "--out",
        str(staging),
        "--reference",
        str(tmp_path / "reference.parquet"),
    ]
    subprocess.run(
        [*generate, "--rows", "3000", "--batches", "2", "--seed", "7", "--scenario", "sudden:amount_scale=1.8,start=1"],
        check=True,
        capture_output=True,
        env=base,
        cwd=tmp_path,
    )
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    compose_env = environment("arlequin")
    # The first champion, trained by a setup config (scikit-learn: the watcher only reads its profile).
    setup = tmp_path / "setup.toml"
    setup.write_text(
        f'[arlequin]\nhome = "{tmp_path / "setup"}"\n[data]\nlabel = "is_fraud"\ntimestamp = "timestamp"\n'
        f'exclude = ["transaction_id"]\n[mlflow]\ntracking_uri = "{store}"\nexperiment = "fraud"\n'
        f'model_name = "{compose_env["ARLEQUIN_MODEL_NAME"]}"\n'
    )
    trained = subprocess.run(
        [str(BIN / "arlequin"), "--config", str(setup), "train", "--data", str(tmp_path / "reference.parquet")],
        capture_output=True,
        text=True,
        env=base,
        cwd=tmp_path,
    )
    assert trained.returncode == 0, trained.stderr[-3000:]

    token_file = tmp_path / "jenkins_bot_token"
    token_file.write_text(TOKEN + "\n")
    port = _free_port()
    with FakeJenkins(user=compose_env["JENKINS_BOT_USER"], token=TOKEN) as jenkins:
        jenkins.jobs = {seed_job_name(): Job(parameters=tuple(seed_job_parameters()))}
        # Compose's environment for the service, its addresses swapped for loopback ones.
        env = (
            base
            | compose_env
            | {
                "ARLEQUIN_HOME": str(tmp_path / "state"),
                "MLFLOW_TRACKING_URI": store,
                "SPARK_MASTER_URL": "local[1]",
                "ARLEQUIN_WATCH_URI": watch_uri,
                "ARLEQUIN_REFERENCE_URI": (tmp_path / "reference.parquet").as_uri(),
                "ARLEQUIN_POLL_INTERVAL": "0.5",
                "JENKINS_URL": jenkins.root,
                "JENKINS_TOKEN_FILE": str(token_file),
                "ARLEQUIN_METRICS_PORT": str(port),
                "ARLEQUIN_CONFIG": str(CONFIG),
            }
        )
        assert set(compose_env) <= set(env)
        log = tmp_path / "watch.log"
        with open(log, "wb") as out:
            # The image's ENTRYPOINT + CMD: `arlequin watch`.
            watcher = subprocess.Popen(
                [str(BIN / "arlequin"), "watch"], stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp_path
            )
        try:
            health = [sys.executable, str(HEALTHCHECK)]
            _wait(
                lambda: subprocess.run(health, env=env, capture_output=True).returncode == 0,
                180,
                "the health check to pass",
                watcher,
                log,
            )
            url = f"http://127.0.0.1:{port}/metrics"
            for name in ("batch-00000.parquet", "batch-00001.parquet"):
                fs.put(str(staging / name), f"{landing}/.{name}.tmp")
                fs.mv(f"{landing}/.{name}.tmp", f"{landing}/{name}")
            samples = _wait(
                lambda: (
                    (s := _samples(url)) and s.get(("arlequin_sink_deliveries_total", (("sink", "jenkins"),))) and s
                ),
                180,
                "two verdicts and a Jenkins build",
                watcher,
                log,
            )
        finally:
            watcher.send_signal(signal.SIGTERM)
            try:
                code = watcher.wait(timeout=90)
            except subprocess.TimeoutExpired:
                watcher.kill()
                raise
        assert code == 0, log.read_text()[-3000:]

        assert samples[("arlequin_batches_checked_total", (("verdict", "no_drift"),))] == 1
        assert samples[("arlequin_batches_checked_total", (("verdict", "drift"),))] == 1
        assert samples[("arlequin_champion_version", (("model", compose_env["ARLEQUIN_MODEL_NAME"]),))] == 1
        assert samples[("arlequin_column_drifted", (("column", "amount"), ("detector", "ks")))] == 1
        [trigger] = jenkins.triggers
        assert trigger["BATCH_URI"] == f"{watch_uri}/batch-00001.parquet"
        assert trigger["MODEL_NAME"] == compose_env["ARLEQUIN_MODEL_NAME"]
        assert trigger["REFERENCE_URI"] == (tmp_path / "reference.parquet").as_uri()
        assert TOKEN not in log.read_text()  # the secret stays out of the logs

    # With the watcher gone, the same health check fails.
    assert subprocess.run([sys.executable, str(HEALTHCHECK)], env=env, capture_output=True).returncode == 1
