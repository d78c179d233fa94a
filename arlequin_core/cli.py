"""The ``arlequin`` command line: the root group, and nothing else.

Exit statuses: 0 success (no drift), 1 internal error, 2 bad usage or unreadable
input, 3 drift detected. Every sub-command comes through
``arlequin_register_commands``: the core's own from its internal plugin
(:mod:`arlequin_core.commands`), the others from plugins. They are looked up lazily,
so ``arlequin --help`` lists them and a broken plugin only loses its own commands.

Commands get the running :class:`~arlequin_core.app.App` with
:func:`arlequin_core.app.get_app` (re-exported here for plugins written against it).
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from arlequin_core import __version__
from arlequin_core.app import App, get_app
from arlequin_core.errors import EXIT_INTERNAL, ArlequinError, PluginError
from arlequin_core.logs import configure_logging, get_logger
from arlequin_core.plugins import PluginHost

__all__ = ["get_app", "main", "run"]

log = get_logger(__name__)


class ArlequinGroup(click.Group):
    """A group whose commands are the registry's, and which maps errors to exit codes."""

    def _host(self, ctx: click.Context) -> PluginHost:
        root = ctx.find_root()
        if not isinstance(root.obj, App):
            # Before the root callback (`arlequin --help`, resolving the command to run): the
            # commands' names and help need the enabled plugins only, read from [plugins]
            # disable without validating the whole config (pydantic); the app made later takes
            # this host over when its validated config disables the same plugins. Whatever
            # cannot be read so simply takes the full load.
            host = root.meta.get(_PEEKED_HOST)
            if host is None:
                from arlequin_core.config_file import peek_disabled_plugins

                disabled = peek_disabled_plugins(root.params.get("config_path"))
                if disabled is not None:
                    host = root.meta[_PEEKED_HOST] = PluginHost(disabled=disabled).load()
                    root.meta[_PEEKED_DISABLED] = disabled
            if host is not None:
                return host
        try:
            return get_app(ctx).host
        except ArlequinError:
            # A bad config: still resolve the command (plugins filtered by the environment
            # only), so that it runs and reports the config error naming the key.
            host = root.meta.get("arlequin.fallback_host")
            if host is None:
                host = root.meta["arlequin.fallback_host"] = PluginHost().load()
            return host

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self._host(ctx).registry.names("command")))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        registry = self._host(ctx).registry
        item = registry.entry("command", cmd_name)
        if item is None:
            return None
        if ctx.meta.get("arlequin.listing") and not item.loaded and item.lazy is not None and item.lazy.help:
            # `arlequin --help` lists the name and the help registered with it: the command's
            # module (and what it imports) is imported when the command runs or shows its help.
            return click.Command(cmd_name, help=item.lazy.help)
        try:
            return registry.get("command", cmd_name)
        except PluginError as exc:
            if ctx.meta.get("arlequin.listing"):
                return None  # `arlequin --help`: a command that fails to load is left out (and logged)
            raise click.ClickException(str(exc)) from exc

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        ctx.meta["arlequin.listing"] = True
        try:
            super().format_commands(ctx, formatter)
        finally:
            ctx.meta.pop("arlequin.listing", None)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return self._invoke_subcommand(ctx)
        except ArlequinError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, BrokenPipeError):
            raise
        except Exception as exc:
            log.exception("internal_error", error=str(exc))
            click.echo(f"internal error: {type(exc).__name__}: {exc} (see the log above)", err=True)
            ctx.exit(EXIT_INTERNAL)

    def _invoke_subcommand(self, ctx: click.Context) -> Any:
        """``click.Group.invoke``, but the sub-command's arguments are parsed before the root callback.

        So ``arlequin detect --help`` and a usage error print and exit without the root
        callback's work (the validated config, logging): a fifth of a second or more.
        Everything else is click's order: resolve, root callback, sub-command.
        """
        if not ctx._protected_args or self.chain:
            return super().invoke(ctx)
        args = [*ctx._protected_args, *ctx.args]
        ctx.args, ctx._protected_args = [], []
        with ctx:
            cmd_name, cmd, args = self.resolve_command(ctx, args)
            assert cmd is not None
            ctx.invoked_subcommand = cmd_name
            sub_ctx = cmd.make_context(cmd_name, args, parent=ctx)
            click.Command.invoke(self, ctx)  # the root callback
            sub_ctx.obj = ctx.obj  # made before the callback set it
            with sub_ctx:
                return sub_ctx.command.invoke(sub_ctx)


_PEEKED_HOST, _PEEKED_DISABLED = "arlequin.peeked_host", "arlequin.peeked_disabled"


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
    if not isinstance(ctx.obj, App):
        from arlequin_core.config import load_config

        config = load_config(config_path)
        host = ctx.meta.get(_PEEKED_HOST)
        same = host is not None and set(config.plugins.disable) == set(ctx.meta.get(_PEEKED_DISABLED, ()))
        ctx.obj = App(config, host=host if same else None)
    app: App = get_app(ctx)
    core = app.config.arlequin
    configure_logging(log_format or core.log_format, "debug" if verbose else core.log_level, lazy=True)
    ctx.call_on_close(app.close)


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
