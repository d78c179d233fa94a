"""``arlequin plugins`` and ``arlequin config show``: what is loaded and configured."""

from __future__ import annotations

import json
from typing import Any

import click

from arlequin_core.app import get_app
from arlequin_core.errors import EXIT_INTERNAL


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--check",
    is_flag=True,
    help="Also import every component now (they are imported on first use otherwise) and report those that fail.",
)
@click.pass_context
def plugins_cmd(ctx: click.Context, as_json: bool, check: bool) -> None:
    """List plugins: where each came from, its components and hooks.

    Exits 1 when a plugin failed to load (it is listed with its error).
    """
    host = get_app(ctx).host
    if check:
        host.load_all()
    data = {
        "plugins": [p.as_dict() for p in sorted(host.plugins.values(), key=lambda p: p.name)],
        "failed": [vars(f) for f in host.failures.values()],
        "disabled": sorted(host.skipped),
        "internal": [p.as_dict() for p in host.internal.values()],
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
        for p in data["internal"]:
            click.echo(f"{p['name']}  [{p['module']}]  built into {p['distribution']} {p['version']}")
            if p["components"]:
                click.echo(f"    components: {', '.join(p['components'])}")
        for name in data["disabled"]:
            click.echo(f"{name}  (disabled)")
        for f in data["failed"]:
            click.echo(f"{f['name']}  FAILED at {f['stage']}: {f['error']}", err=True)
            click.echo("    " + f["traceback"].rstrip().replace("\n", "\n    "), err=True)
    if host.failures:
        ctx.exit(EXIT_INTERNAL)


@click.group("config")
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
