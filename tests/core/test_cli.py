"""The ``arlequin`` CLI: version, help everywhere, plugins, config show, events."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from arlequin_core import __version__
from arlequin_core.app import App
from arlequin_core.cli import main
from arlequin_core.config import load_config
from arlequin_core.events import DataArrived, DriftDetected, ModelRegistered
from arlequin_core.plugins import PluginHost


def _run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_version() -> None:
    result = _run("--version")
    assert result.exit_code == 0 and __version__ in result.output


def _all_commands(group: click.Group, ctx: click.Context, prefix: tuple[str, ...] = ()):
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from _all_commands(command, click.Context(command, parent=ctx), (*prefix, name))


def test_help_everywhere(toy_plugin: str) -> None:
    ctx = click.Context(main)
    paths = list(_all_commands(main, ctx))
    assert ("plugins",) in paths and ("config", "show") in paths and ("events",) in paths
    assert ("toy-hello",) in paths  # plugin commands are listed too
    for path in paths:
        result = _run(*path, "--help")
        assert result.exit_code == 0, (path, result.output)
        assert "Usage:" in result.output


def test_plugin_command_runs(toy_plugin: str) -> None:
    result = _run("toy-hello")
    assert result.exit_code == 0 and "hello from toy" in result.output


def test_plugins_lists_builtin_plugins_and_origin() -> None:
    result = _run("plugins")
    assert result.exit_code == 0
    assert "log  [arlequin_log.plugin]  from arlequin" in result.output
    data = json.loads(_run("plugins", "--json").output)
    log = next(p for p in data["plugins"] if p["name"] == "log")
    assert log["hooks"] == ["arlequin_on_event"]  # one hook for every event


def test_plugins_reports_failures_with_exit_1(make_dist) -> None:
    make_dist("broken", "raise ImportError('missing dependency foo')\n")
    result = _run("plugins")
    assert result.exit_code == 1
    assert "broken  FAILED at import: ImportError: missing dependency foo" in result.output


def test_disabled_plugin_shown_as_disabled(toy_plugin: str) -> None:
    result = _run("plugins", env={"ARLEQUIN_DISABLE_PLUGINS": "toy"})
    assert "toy  (disabled)" in result.output


def test_config_show_masks_secrets(tmp_path: Path) -> None:
    (tmp_path / "arlequin.toml").write_text(
        '[sinks.jenkins]\nurl = "http://ci"\ntoken = "${ARL_CLI_TOKEN}"\n[mlflow]\npassword = "pw-abcdefgh"\n'
    )
    result = _run("config", "show", env={"ARL_CLI_TOKEN": "very-secret-token-1"})
    assert result.exit_code == 0
    assert "very-secret-token-1" not in result.output and "pw-abcdefgh" not in result.output
    assert 'token = "***"' in result.output and 'url = "http://ci"' in result.output
    data = json.loads(_run("config", "show", "--json", env={"ARL_CLI_TOKEN": "very-secret-token-1"}).output)
    assert data["config"]["mlflow"]["password"] == "***"


def test_bad_config_exits_2_naming_the_key(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text("[drift]\ndrift_share = 'most'\n")
    result = _run("--config", "bad.toml", "config", "show")
    assert result.exit_code == 2
    assert "bad.toml: key drift.drift_share" in result.output


def test_events_reads_and_filters_the_journal() -> None:
    app = App(load_config())
    drift = DriftDetected(batch_id="b2", uri="u2", reason="amount", drift_share=0.5)
    events = [
        DataArrived(batch_id="b1", uri="u1"),
        DataArrived(batch_id="b2", uri="u2"),
        drift,
        ModelRegistered(
            model_name="m",
            model_version="7",
            run_id="r",
            promoted=True,
            batch_ids=("b2",),
            cause_event_id=drift.event_id,
        ),
    ]
    for event in events:
        app.journal.append(event)
    app.close()

    lines = _run("events", "--json").output.splitlines()
    assert [json.loads(line)["event_id"] for line in lines] == [e.event_id for e in events]
    only_drift = _run("events", "--json", "--name", "drift-detected").output.splitlines()
    assert [json.loads(line)["name"] for line in only_drift] == ["drift-detected"]
    # "Why was version 7 trained?" in one query: the version's events, and the drift that caused it.
    cause, v7 = (json.loads(line) for line in _run("events", "--json", "--model-version", "7").output.splitlines())
    assert v7["cause_event_id"] == drift.event_id and v7["batch_ids"] == ["b2"]
    assert cause["event_id"] == drift.event_id and cause["reason"] == "amount"
    text = _run("events", "--model-version", "7").output.splitlines()
    assert "  cause  drift-detected " in text[0] and '"drift_share": 0.5' in text[0]
    assert "model-registered" in text[1] and "cause" not in text[1].split("{")[0]
    by_batch = _run("events", "--json", "--batch", "b2").output.splitlines()
    assert len(by_batch) == 3  # arrived, drift, and the model trained on it
    assert len(_run("events", "--limit", "1").output.splitlines()) == 1
    assert _run("events", "--since", "2999-01-01").output == ""


def test_events_bad_since_is_usage_error() -> None:
    result = _run("events", "--since", "yesterday")
    assert result.exit_code == 2 and "not an ISO date/time" in result.output


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_log_format_option(fmt: str) -> None:
    assert _run("--log-format", fmt, "config", "show").exit_code == 0


def test_internal_error_exits_1_and_user_error_exits_2(make_dist) -> None:
    make_dist(
        "failing",
        """
import click
from arlequin_core import hookimpl
from arlequin_core.errors import InputError

@click.command("crash")
def crash():
    raise RuntimeError("a bug")

@click.command("bad-input")
def bad_input():
    raise InputError("data/b1.parquet", "file is empty (0 bytes)")

@hookimpl
def arlequin_register_commands(register):
    register(crash)
    register(bad_input)
""",
    )
    crashed = _run("--log-format", "json", "crash")
    assert crashed.exit_code == 1 and "internal error: RuntimeError: a bug" in crashed.output
    bad = _run("bad-input")
    assert bad.exit_code == 2 and "error: data/b1.parquet: file is empty (0 bytes)" in bad.output


def test_closed_pipe_is_not_an_internal_error() -> None:
    import subprocess
    import sys

    from arlequin_core.events import DataArrived

    app = App(load_config())
    for i in range(3000):
        app.journal.append(DataArrived(batch_id=f"b{i}", uri=f"u{i}"))
    app.close()
    cmd = f"{Path(sys.executable).parent / 'arlequin'} events | head -n 1"
    result = subprocess.run(cmd, shell=True, capture_output=True, text=True, executable="/bin/bash")
    assert len(result.stdout.splitlines()) == 1
    assert "internal error" not in result.stderr and "BrokenPipe" not in result.stderr


# --------------------------------------------------------------------------- #
# One path for commands: the core's come through arlequin_register_commands too
# --------------------------------------------------------------------------- #

CORE_COMMANDS = {
    "calibrate",
    "config",
    "detect",
    "events",
    "history",
    "models",
    "plugins",
    "promote",
    "sinks",
    "train",
    "validate",
}


def test_no_command_is_added_by_hand_and_the_core_registers_its_own() -> None:
    assert main.commands == {}  # nothing hand-added to the root group
    host = PluginHost().load()
    by_origin = {item.name: item.origin for item in host.registry.entries("command")}
    assert {name for name, origin in by_origin.items() if origin == "core"} == CORE_COMMANDS
    assert {"watch", "status", "retry", "generate"} <= {n for n, o in by_origin.items() if o != "core"}
    assert host.internal["core"].module == "arlequin_core.commands"


def test_help_lists_core_and_plugin_commands() -> None:
    result = _run("--help")
    listed = {line.split()[0] for line in result.output.split("Commands:")[1].splitlines() if line.strip()}
    assert listed == CORE_COMMANDS | {"watch", "status", "retry", "report", "generate"}


def test_core_commands_stay_with_every_plugin_disabled() -> None:
    result = _run("--help", env={"ARLEQUIN_LOAD_PLUGINS": ""})
    listed = {line.split()[0] for line in result.output.split("Commands:")[1].splitlines() if line.strip()}
    assert listed == CORE_COMMANDS


def test_a_plugin_cannot_take_a_core_command_name(make_dist) -> None:
    make_dist(
        "squatter",
        """
import click
from arlequin_core import hookimpl

@click.command("detect")
def detect():
    click.echo("not the real detect")

@hookimpl
def arlequin_register_commands(register):
    register(detect)
""",
    )
    result = _run("plugins")
    assert result.exit_code == 1 and "squatter  FAILED at register" in result.output
    assert "registered twice: by plugin 'core' and by plugin 'squatter'" in result.output
    assert "Test the batch CUR" in _run("detect", "--help").output


def test_plugin_commands_still_report_a_bad_config(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text("[drift]\ndrift_share = 'most'\n")
    result = _run("--config", "bad.toml", "status")
    assert result.exit_code == 2 and "bad.toml: key drift.drift_share" in result.output


def _imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_module_imports_the_cli_back() -> None:
    root = Path(__file__).resolve().parents[2]
    offenders = [
        str(path.relative_to(root))
        for base in ("arlequin_core", "plugins")
        for path in (root / base).rglob("*.py")
        if path.name != "cli.py" or path.parent.name != "arlequin_core"
        if {"arlequin_core.cli", "arlequin_core.cli.get_app"} & _imported_modules(path)
    ]
    assert offenders == []
    cli_imports = _imported_modules(root / "arlequin_core" / "cli.py")
    assert not any(name.startswith(("arlequin_core.commands", "arlequin_core.drift")) for name in cli_imports)
