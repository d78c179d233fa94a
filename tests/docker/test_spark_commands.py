"""The Spark services' commands and health checks from docker/compose.yml, run here.

The compose file starts the standalone master and worker with Apache's image's
``/opt/spark/bin/spark-class``; pyspark ships the same launcher (the image is pinned to
the driver's pyspark version, see test_wiring.py). This runs those exact command lines
with pyspark's launcher, the hostname ``spark-master`` and the ports swapped for loopback
ones, then the services' own health-check commands, and checks that the worker joined
the master: a wrong class name, flag or URL in compose.yml fails here.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pyspark
import pytest

from .stack import service

SPARK_HOME = Path(pyspark.__file__).resolve().parent


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _swap(argv: list[str], swaps: dict[str, str]) -> list[str]:
    out = []
    for part in argv:
        for old, new in swaps.items():
            part = part.replace(old, new)
        out.append(part)
    return out


def _healthcheck(name: str, swaps: dict[str, str]) -> list[str]:
    test = [str(p) for p in service(name)["healthcheck"]["test"]]
    assert test[0] == "CMD"
    return _swap(test[1:], swaps)


def test_the_spark_services_commands_start_a_master_and_a_worker_that_pass_their_health_checks(
    tmp_path: Path,
) -> None:
    if shutil.which("java") is None:
        pytest.fail("java is not on PATH (Java 17 is required; .ci/run checks for it)")
    rpc, master_ui, worker_ui = _free_port(), _free_port(), _free_port()
    swaps = {
        "/opt/spark/bin/spark-class": str(SPARK_HOME / "bin" / "spark-class"),
        "spark://spark-master:7077": f"spark://127.0.0.1:{rpc}",
        "spark-master": "127.0.0.1",
        "localhost:8080": f"127.0.0.1:{master_ui}",
        "localhost:8081": f"127.0.0.1:{worker_ui}",
    }
    master_cmd = _swap([str(p) for p in service("spark-master")["command"]], swaps)
    worker_cmd = _swap([str(p) for p in service("spark-worker")["command"]], swaps)
    # The compose ports, swapped flag by flag (the values are bare numbers).
    master_cmd[master_cmd.index("--port") + 1] = str(rpc)
    master_cmd[master_cmd.index("--webui-port") + 1] = str(master_ui)
    worker_cmd[worker_cmd.index("--webui-port") + 1] = str(worker_ui)
    env = {
        **os.environ,
        "SPARK_HOME": str(SPARK_HOME),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_LOCAL_DIRS": str(tmp_path / "local"),
        "SPARK_WORKER_DIR": str(tmp_path / "work"),
        "SPARK_DAEMON_MEMORY": "256m",
        "SPARK_WORKER_CORES": "1",
        "SPARK_WORKER_MEMORY": "512m",
        "SPARK_NO_DAEMONIZE": "1",
    }
    processes: list[subprocess.Popen] = []
    logs = {"master": tmp_path / "master.log", "worker": tmp_path / "worker.log"}

    def spawn(argv: list[str], log: Path) -> None:
        with open(log, "wb") as out:
            processes.append(
                subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
            )

    def wait_healthy(name: str) -> None:
        check = _healthcheck(name, swaps)
        check[0] = "python3" if shutil.which("python3") else check[0]
        deadline = time.monotonic() + 180
        while subprocess.run(check, capture_output=True).returncode != 0:
            if any(p.poll() is not None for p in processes) or time.monotonic() > deadline:
                raise AssertionError(
                    f"{name} never passed its health check {check}:\n"
                    + "\n".join(f"{k}: {v.read_text()[-2000:]}" for k, v in logs.items() if v.exists())
                )
            time.sleep(1)

    try:
        spawn(master_cmd, logs["master"])
        wait_healthy("spark-master")
        spawn(worker_cmd, logs["worker"])
        wait_healthy("spark-worker")
        deadline = time.monotonic() + 60
        while True:
            with urllib.request.urlopen(f"http://127.0.0.1:{master_ui}/json/", timeout=5) as answer:
                state = json.load(answer)
            alive = [w for w in state.get("workers", []) if w.get("state") == "ALIVE"]
            if alive or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert state["url"] == f"spark://127.0.0.1:{rpc}"
        assert len(alive) == 1, state
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)
