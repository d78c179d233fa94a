"""The example configs load, and every plugin table in them validates with its plugin."""

from __future__ import annotations

from pathlib import Path

import pytest

from arlequin_core.config import load_config
from arlequin_core.plugins import PluginHost
from arlequin_jenkins.settings import JenkinsSettings
from arlequin_watch.local import LocalSourceConfig
from arlequin_watch.poll import PollSourceConfig
from arlequin_webhook.settings import WebhookSettings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SINKS = {"jenkins": JenkinsSettings, "webhook": WebhookSettings}
SOURCES = {"poll": PollSourceConfig, "local": LocalSourceConfig}


@pytest.mark.parametrize("name", ["quickstart.toml", "demo.toml", "cluster.toml"])
def test_example_config_is_valid(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "example-password-1")
    monkeypatch.setenv("ARLEQUIN_WEBHOOK_SECRET", "example-secret-1")
    config = load_config(EXAMPLES / name)
    registry = PluginHost().load().registry
    assert config.training.trainer in registry.names("trainer")
    for column in config.drift.columns.values():
        assert column.detector is None or column.detector in registry.names("detector")
    for instance, table in config.sources.items():
        kind = table.get("type", instance)
        assert kind in registry.names("source")
        SOURCES[kind].model_validate({k: v for k, v in table.items() if k not in ("type", "enabled")})
    for sink, table in config.sinks.items():
        assert sink in registry.names("sink")
        if "token_file" in table:  # the deployment's secret file: stand one in
            (tmp_path / "token").write_text("example-token-1")
            table = {**table, "token_file": str(tmp_path / "token")}
        SINKS[sink].model_validate(table)
    assert "example-password-1" not in str(config.masked())
