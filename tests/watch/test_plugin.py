"""The ``watch`` plugin's registration hooks, through the real entry point."""

from __future__ import annotations

from click.testing import CliRunner

from arlequin_core.cli import main
from arlequin_core.plugins import PluginHost
from arlequin_watch.local import LocalSource
from arlequin_watch.poll import PollSource


def test_arlequin_register_sources_registers_local_and_poll() -> None:
    host = PluginHost().load()
    assert host.registry.get("source", "local") is LocalSource
    assert host.registry.get("source", "poll") is PollSource
    origins = {e.name: e.origin for e in host.registry.entries("source")}
    assert origins["local"] == origins["poll"] == "watch"


def test_arlequin_register_commands_registers_watch_status_and_retry() -> None:
    host = PluginHost().load()
    assert {"watch", "status", "retry"} <= set(host.registry.names("command"))
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("watch", "status", "retry"):
        assert f"  {command} " in result.output
