"""Fixtures for the sink tests: a Jenkins speaking the remote API, a webhook receiver, an app."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from arlequin_core.app import App
from arlequin_core.config import load_config
from arlequin_core.events import DriftDetected

from .servers import FakeJenkins, WebhookReceiver

TOKEN = "11e0b5c4f1f04a7f9b1fd3a5d2c07b9e61"
WEBHOOK_SECRET = "whsec-6f1d2a9c8b7e4d3f"

#: Fast retries: the backoff is exercised, the test does not wait for it.
FAST = {
    "backoff_initial": 0.01,
    "backoff_max": 0.05,
    "backoff_jitter": 0.5,
    "connect_timeout": 2.0,
    "read_timeout": 5.0,
    "idle_poll": 0.05,
    "cooldown": 0.0,
}


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    yield
    structlog.reset_defaults()


@pytest.fixture
def jenkins() -> Iterator[FakeJenkins]:
    with FakeJenkins(token=TOKEN) as server:
        yield server


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as server:
        yield server


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.fixture
def make_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., App]]:
    """``make_app(sinks={"jenkins": {...}})``: write arlequin.toml, load it as the CLI would, return an App.

    Each call is a fresh process-like start (new App, same home): a "restart".
    """
    monkeypatch.setenv("JENKINS_TOKEN", TOKEN)
    monkeypatch.setenv("ARLEQUIN_WEBHOOK_SECRET", WEBHOOK_SECRET)
    apps: list[App] = []

    def make(sinks: dict[str, dict[str, Any]]) -> App:
        lines = ["[arlequin]", 'home = ".arlequin"', "journal_fsync = false", ""]
        for name, table in sinks.items():
            lines.append(f"[sinks.{name}]")
            lines += [f"{key} = {_toml(value)}" for key, value in table.items()]
            lines.append("")
        path = tmp_path / "arlequin.toml"
        path.write_text("\n".join(lines))
        app = App(load_config(path))
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.close()


def jenkins_table(server: FakeJenkins, **overrides: Any) -> dict[str, Any]:
    """A ``[sinks.jenkins]`` table for ``server``, token from ``${JENKINS_TOKEN}``."""
    return {
        "enabled": True,
        "url": server.root,
        "job": "ml/retrain",
        "user": server.user,
        "token": "${JENKINS_TOKEN}",
        "max_attempts": 4,
        "poll_interval": 0.02,
        **FAST,
        **overrides,
    }


def webhook_table(server: WebhookReceiver, **overrides: Any) -> dict[str, Any]:
    """A ``[sinks.webhook]`` table for ``server``, secret from ``${ARLEQUIN_WEBHOOK_SECRET}``."""
    return {
        "enabled": True,
        "url": server.url,
        "secret": "${ARLEQUIN_WEBHOOK_SECRET}",
        "max_attempts": 4,
        **FAST,
        **overrides,
    }


def drift(batch: str, **kw: Any) -> DriftDetected:
    """A drift-detected event for batch ``batch``."""
    return DriftDetected(
        batch_id=batch,
        uri=kw.pop("uri", f"file:///data/{batch}.parquet"),
        reason=kw.pop("reason", "3 of 4 columns drifted (holm-corrected KS)"),
        drift_share=kw.pop("drift_share", 0.75),
        drifted_columns=("age", "income", "tenure"),
        report_uri=kw.pop("report_uri", f"file:///reports/{batch}.html"),
        model_name=kw.pop("model_name", "churn"),
        model_version="3",
        **kw,
    )


def wait_until(condition: Callable[[], Any], seconds: float = 15.0) -> Any:
    """Poll ``condition`` until truthy; fail after ``seconds`` (a hang guard, not a speed check)."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {seconds}s: {condition}")
        time.sleep(0.01)
