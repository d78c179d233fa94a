"""The ``arlequin`` command line.

Exit statuses: 0 success (no drift), 1 internal error, 2 bad usage or unreadable
input, 3 drift detected. Plugins add sub-commands through
``arlequin_register_commands``; they are loaded lazily, so ``arlequin --help`` lists
them and a broken plugin only loses its own commands.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from typing import Any

import click

from arlequin_core import __version__
from arlequin_core.app import App
from arlequin_core.config import load_config
from arlequin_core.drift.command import detect_cmd
from arlequin_core.errors import EXIT_INTERNAL, ArlequinError
from arlequin_core.events import EVENT_TYPES
from arlequin_core.journal import read_journal
from arlequin_core.logs import configure_logging, get_logger
from arlequin_core.sinks.cli import sinks_group

log = get_logger(__name__)


class ArlequinGroup(click.Group):
    """A group that adds plugin commands on demand and maps errors to exit codes."""

    def _app(self, ctx: click.Context) -> App | None:
        root = ctx.find_root()
        if isinstance(root.obj, App):
            return root.obj
        try:
            root.obj = App(load_config(root.params.get("config_path")))
        except ArlequinError:
            return None  # the command itself will report the config error
        return root.obj

    def _plugin_commands(self, ctx: click.Context) -> dict[str, click.Command]:
        app = self._app(ctx)
        if app is None:
            return {}
        return {item.name: item.obj for item in app.registry.entries("command")}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self._plugin_commands(ctx)))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, cmd_name) or self._plugin_commands(ctx).get(cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ArlequinError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, BrokenPipeError):
            raise
        except Exception as exc:
            log.exception("internal_error", error=str(exc))
            click.echo(f"internal error: {type(exc).__name__}: {exc} (see the log above)", err=True)
            ctx.exit(EXIT_INTERNAL)


def get_app(ctx: click.Context) -> App:
    """The :class:`App` of this invocation (plugins use this in their commands)."""
    root = ctx.find_root()
    if not isinstance(root.obj, App):
        root.obj = App(load_config(root.params.get("config_path")))
    return root.obj


pass_app = click.make_pass_decorator(App, ensure=False)


@click.group(cls=ArlequinGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="arlequin")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    envvar="ARLEQUIN_CONFIG",
    help="Config file (TOML). Default: $ARLEQUIN_CONFIG, else ./arlequin.toml if present.",
)
@click.option("--log-format", type=click.Choice(["auto", "console", "json"]), default=None, help="Log output format.")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, log_format: str | None, verbose: bool) -> None:
    """Arlequin: detect data drift and keep models current."""
    app = get_app(ctx)
    core = app.config.arlequin
    configure_logging(log_format or core.log_format, "debug" if verbose else core.log_level)
    ctx.call_on_close(app.close)


main.add_command(sinks_group)


@main.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def plugins_cmd(ctx: click.Context, as_json: bool) -> None:
    """List plugins: where each came from, its components and hooks.

    Exits 1 when a plugin failed to load (it is listed with its error).
    """
    host = get_app(ctx).host
    data = {
        "plugins": [vars(p) for p in sorted(host.plugins.values(), key=lambda p: p.name)],
        "failed": [vars(f) for f in host.failures.values()],
        "disabled": sorted(host.skipped),
    }
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        for p in data["plugins"]:
            origin = f"{p['distribution']} {p['version']}" if p["distribution"] else "(not installed)"
            click.echo(f"{p['name']}  [{p['module']}]  from {origin}")
            if p["components"]:
                click.echo(f"    components: {', '.join(p['components'])}")
            if p["hooks"]:
                click.echo(f"    hooks: {', '.join(p['hooks'])}")
        for name in data["disabled"]:
            click.echo(f"{name}  (disabled)")
        for f in data["failed"]:
            click.echo(f"{f['name']}  FAILED at {f['stage']}: {f['error']}", err=True)
            click.echo("    " + f["traceback"].rstrip().replace("\n", "\n    "), err=True)
    if host.failures:
        ctx.exit(EXIT_INTERNAL)


@main.group("config")
def config_group() -> None:
    """Inspect the configuration."""


@config_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of TOML-like text.")
@click.pass_context
def config_show(ctx: click.Context, as_json: bool) -> None:
    """Print the effective configuration, secrets masked."""
    app = get_app(ctx)
    data = app.config.masked()
    source = str(app.config.source_path) if app.config.source_path else "(defaults, no config file)"
    if as_json:
        click.echo(json.dumps({"source": source, "config": data}, indent=2, default=str))
        return
    click.echo(f"# source: {source}")
    _echo_toml(data)


def _echo_toml(data: dict[str, Any], prefix: str = "") -> None:
    scalars = {k: v for k, v in data.items() if not isinstance(v, dict)}
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    if prefix and (scalars or not tables):
        click.echo(f"\n[{prefix}]")
    for key, value in scalars.items():
        click.echo(f"{key} = {json.dumps(value, default=str)}")
    for key, value in tables.items():
        _echo_toml(value, f"{prefix}.{key}" if prefix else key)


@main.command("events")
@click.option("--name", "names", multiple=True, type=click.Choice(sorted(EVENT_TYPES)), help="Only these events.")
@click.option("--batch", "batch_id", default=None, help="Only events of this batch id.")
@click.option("--model-version", default=None, help="Only events about this model version.")
@click.option("--since", default=None, help="Only events at or after this ISO time (UTC if no zone).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the last N matching events.")
@click.option("--json", "as_json", is_flag=True, help="Print raw JSON lines.")
@click.pass_context
def events_cmd(
    ctx: click.Context,
    names: tuple[str, ...],
    batch_id: str | None,
    model_version: str | None,
    since: str | None,
    limit: int | None,
    as_json: bool,
) -> None:
    """Read and filter the event journal.

    Answer "why was version 7 trained?" with ``--model-version 7`` and then
    ``--batch`` on the batch ids it shows.
    """
    app = get_app(ctx)
    since_dt = _parse_since(since) if since else None
    matches = []
    for event in read_journal(app.journal_path):
        if names and event.name not in names:
            continue
        if batch_id and event.batch_id != batch_id and batch_id not in getattr(event, "batch_ids", ()):
            continue
        if model_version and str(getattr(event, "model_version", None)) != model_version:
            continue
        if since_dt and datetime.fromisoformat(event.created_at) < since_dt:
            continue
        matches.append(event)
    for event in matches[-limit:] if limit else matches:
        if as_json:
            click.echo(event.to_json())
        else:
            extra = {k: v for k, v in event.to_dict().items() if k not in ("name", "event_id", "created_at") and v}
            click.echo(f"{event.created_at}  {event.name:<16} {event.event_id[:12]}  {json.dumps(extra, default=str)}")


@main.command("history")
@click.option(
    "--html",
    "html_out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the drift-over-time page here (default: <home>/reports/index.html).",
)
@click.option("--last", type=click.IntRange(min=1), default=20, show_default=True, help="Batches to print.")
@click.pass_context
def history_cmd(ctx: click.Context, html_out: str | None, last: int) -> None:
    """Drift over time: the latest batch verdicts, and an HTML page with plots of them."""
    from arlequin_core.drift.history import load_reports, write_history

    app = get_app(ctx)
    reports_dir = app.config.home / "reports"
    reports = load_reports(reports_dir, last=last)
    if not reports:
        click.echo(f"no batch reports in {reports_dir} yet")
    for report in reports:
        verdict = "DRIFT   " if report.drifted else "no drift"
        click.echo(
            f"{report.created_at[:19]}  {verdict}  share {report.drift_share:4.0%}  "
            f"model {report.model_version or '-':>3}  {report.uri or report.batch_id}  "
            f"{', '.join(report.drifted_columns)}"
        )
    click.echo(f"drift over time: {write_history(reports_dir, html_out)}")


def _parse_since(text: str) -> datetime:
    from datetime import timezone

    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        message = f"{text!r} is not an ISO date/time, e.g. 2026-11-26T07:00"
        raise click.BadParameter(message, param_hint="--since") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


main.add_command(detect_cmd)

from arlequin_core.training.cli import COMMANDS as _TRAINING_COMMANDS  # noqa: E402 - after get_app

for _command in _TRAINING_COMMANDS:
    main.add_command(_command)


def run() -> None:
    """Console-script entry point."""
    try:
        main.main(prog_name="arlequin", standalone_mode=True)
    except BrokenPipeError:
        # The reader went away (`arlequin events | head`): not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)


if __name__ == "__main__":  # pragma: no cover
    run()
