"""The core's own commands, registered as an internal plugin (as tox registers its own).

The ``arlequin`` group (:mod:`arlequin_core.cli`) adds no command by hand: every
sub-command, the core's and the plugins', comes through
``arlequin_register_commands``. :class:`arlequin_core.plugins.PluginHost` registers
this module under the name ``core`` before any entry point, so the core's command
names win over a plugin's (a plugin registering ``detect`` is reported as failed),
and disabling plugins never disables these.

Command modules get the running app from :func:`arlequin_core.app.get_app`, never
from :mod:`arlequin_core.cli`, so no command module imports the CLI back.
"""

from __future__ import annotations

from arlequin_core import hookimpl
from arlequin_core.hookspecs import Register


@hookimpl
def arlequin_register_commands(register: Register) -> None:
    """``config``, ``detect``, ``calibrate``, ``events``, ``history``, ``models``, ``plugins``, ``promote``,
    ``sinks``, ``train`` and ``validate``."""
    from arlequin_core.commands.detect import calibrate_cmd, detect_cmd
    from arlequin_core.commands.info import config_group, plugins_cmd
    from arlequin_core.commands.journal import events_cmd, history_cmd
    from arlequin_core.sinks.cli import sinks_group
    from arlequin_core.training.cli import COMMANDS as TRAINING_COMMANDS

    for command in (
        plugins_cmd,
        config_group,
        events_cmd,
        history_cmd,
        detect_cmd,
        calibrate_cmd,
        sinks_group,
        *TRAINING_COMMANDS,
    ):
        register(command)
