"""Fixtures of the training tests: seeded labelled batches and an App on a per-test MLflow store."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from training_helpers import labelled_frame, make_config

from arlequin_core.app import App

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


@pytest.fixture(autouse=True)
def one_native_thread() -> Iterator[None]:
    """One OpenMP/BLAS thread per test: on a shared 2-core machine, OpenMP's spinning threads
    make a small HistGradientBoosting fit 20x slower than one thread does."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


@pytest.fixture(autouse=True)
def mlflow_globals_restored() -> Iterator[None]:
    """Tests point MLflow's process-wide URIs at their own store: put them back for the next test."""
    from arlequin_core.training.tracking import _restore, _snapshot

    saved = _snapshot()
    yield
    _restore(saved)


@pytest.fixture
def write_batch(isolated: Path) -> Callable[..., str]:
    """Write a :func:`labelled_frame` to ``data/<name>.parquet`` and return its path."""

    def write(name: str = "batch", **kwargs: Any) -> str:
        path = isolated / "data" / f"{name}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        labelled_frame(**kwargs).to_parquet(path, index=False)
        return str(path)

    return write


@pytest.fixture
def make_app(isolated: Path) -> Iterator[Callable[..., App]]:
    """Apps on a fresh SQLite MLflow store under ``<tmp>/.arlequin`` (closed at teardown)."""
    apps: list[App] = []

    def make(**sections: dict[str, Any]) -> App:
        app = App(make_config(isolated / ".arlequin", **sections))
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.close()
