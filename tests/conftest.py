"""Shared fixtures: an isolated state directory per test, one Spark session per run, and one
real HDFS and one Spark standalone cluster per run (started on first use)."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hookcalls
import pytest

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("PYSPARK_PYTHON", os.sys.executable)  # type: ignore[attr-defined]


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(hookcalls.HookCallRecorder(), hookcalls.NAME)


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Run each test in its own directory, with no stray config or plugin filters."""
    monkeypatch.chdir(tmp_path)
    for var in ("ARLEQUIN_CONFIG", "ARLEQUIN_DISABLE_PLUGINS", "ARLEQUIN_LOAD_PLUGINS"):
        monkeypatch.delenv(var, raising=False)
    yield tmp_path


@pytest.fixture(scope="session")
def spark():
    """The one SparkSession of the test run (local[2]); skipped only when java is missing."""
    if shutil.which("java") is None:
        pytest.skip("java is not installed (CI has it; .ci/run fails without it)")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("arlequin-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    yield session
    session.stop()


# -- the real cluster of the test run (cluster/localcluster.py): one HDFS, one Spark standalone --

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cluster"))


def _need_java(what: str) -> None:
    missing = [tool for tool in ("java", "javac", "mvn") if shutil.which(tool) is None]
    if missing:
        message = f"{what} needs {', '.join(missing)} on PATH"
        if os.environ.get("CI"):
            pytest.fail(f"{message} (CI must run it: .ci/run checks for them)")
        pytest.skip(message)


@pytest.fixture(scope="session")
def hdfs() -> Iterator[Any]:
    """The one real HDFS of the test run: Hadoop's MiniDFSCluster (NameNode RPC + WebHDFS, one
    DataNode, permissions on) on free loopback ports. ``hdfs.rpc`` is ``hdfs://127.0.0.1:P``.

    Tests that stop the NameNode must start it again (``hdfs.start_namenode()``) before returning.
    """
    _need_java("HDFS (MiniDFSCluster)")
    from localcluster import MiniHdfs

    cluster = MiniHdfs().start()
    yield cluster
    cluster.stop()


@pytest.fixture
def hdfs_dir(hdfs: Any, request: pytest.FixtureRequest) -> str:
    """A fresh directory of this test on the run's HDFS, as an ``hdfs://`` URI."""
    import uuid

    from arlequin_core.io import filesystem

    uri = f"{hdfs.rpc}/tests/{request.node.name[:60].replace('[', '-').replace(']', '')}-{uuid.uuid4().hex[:6]}"
    fs, path = filesystem(uri)
    fs.makedirs(path, exist_ok=True)
    return uri


@pytest.fixture(scope="session")
def spark_standalone() -> Iterator[Any]:
    """The one Spark standalone cluster of the test run: a Master and one Worker (1 core, 1 GB)
    started with pyspark's ``bin/spark-class`` on loopback. ``.master`` is ``spark://127.0.0.1:P``."""
    _need_java("Spark standalone")
    from localcluster import SparkStandalone

    cluster = SparkStandalone(cores=1, memory="1g").start()
    yield cluster
    cluster.stop()
