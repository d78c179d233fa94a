"""Shared fixtures: an isolated state directory per test, and one Spark session per run."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

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
