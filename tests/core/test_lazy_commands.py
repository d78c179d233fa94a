"""Commands registered lazily with their help: ``arlequin --help`` lists them unimported.

The help registered beside a command's name (:func:`arlequin_core.registry.lazy`) is a
copy of the first sentence of its docstring; these tests fail when the two drift apart,
and check that the listing is what the imported commands would print.
"""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from arlequin_core.cli import main
from arlequin_core.plugins import PluginHost


def _lazy_commands() -> list[tuple[str, str, str]]:
    host = PluginHost().load()
    entries = host.registry.entries("command")
    return [(e.name, e.lazy.target, e.lazy.help or "") for e in entries if e.lazy is not None]


def test_every_builtin_command_is_registered_lazily_with_its_help() -> None:
    names = {name for name, _, help_text in _lazy_commands() if help_text}
    assert {"detect", "calibrate", "plugins", "config", "train", "models", "watch", "status", "generate"} <= names


@pytest.mark.parametrize(("name", "target", "help_text"), _lazy_commands(), ids=lambda v: str(v)[:40])
def test_the_registered_help_lists_as_the_commands_own(name: str, target: str, help_text: str) -> None:
    host = PluginHost().load()
    command = host.registry.get("command", name)  # imports it
    assert isinstance(command, click.Command) and command.name == name
    placeholder = click.Command(name, help=help_text)
    for limit in (20, 45, 60, 80, 150):
        assert placeholder.get_short_help_str(limit) == command.get_short_help_str(limit), (target, limit)
    first_paragraph = (command.help or "").split("\n\n")[0]
    assert " ".join(first_paragraph.split()).startswith(help_text), target


def test_root_help_lists_the_same_text_whether_commands_are_imported_or_not() -> None:
    runner = CliRunner()
    lazy_listing = runner.invoke(main, ["--help"], prog_name="arlequin", obj=None)
    assert lazy_listing.exit_code == 0, lazy_listing.output
    host = PluginHost().load()
    for entry in host.registry.entries("command"):
        entry.obj  # noqa: B018 - imports it

    class Loaded(click.Group):
        def list_commands(self, ctx: click.Context) -> list[str]:
            return host.registry.names("command")

        def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
            return host.registry.get("command", cmd_name)

    eager = Loaded(name=main.name, params=main.params, help=main.help, context_settings=main.context_settings)
    eager_listing = runner.invoke(eager, ["--help"], prog_name="arlequin")
    assert eager_listing.exit_code == 0, eager_listing.output
    assert lazy_listing.output == eager_listing.output
    assert "detect     Test the batch CUR for drift against the reference REF..." in lazy_listing.output
