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
from arlequin_core.registry import lazy

#: name -> (``module:attribute``, the first sentence of its help). Registered lazily:
#: ``arlequin --help`` lists them without importing them (tests/core/test_lazy_commands.py
#: checks each help against the command's own).
COMMANDS: dict[str, tuple[str, str]] = {
    "plugins": (
        "arlequin_core.commands.info:plugins_cmd",
        "List plugins: where each came from, its components and hooks.",
    ),
    "config": ("arlequin_core.commands.info:config_group", "Inspect the configuration."),
    "events": ("arlequin_core.commands.journal:events_cmd", "Read and filter the event journal."),
    "history": (
        "arlequin_core.commands.journal:history_cmd",
        "Drift over time: the latest batch verdicts, and an HTML page with plots of them.",
    ),
    "detect": (
        "arlequin_core.commands.detect:detect_cmd",
        "Test the batch CUR for drift against the reference REF (default: the serving model's).",
    ),
    "calibrate": (
        "arlequin_core.commands.detect:calibrate_cmd",
        "Calibrate a profile's minimum effects on its reference for batches of BATCH_ROWS rows.",
    ),
    "sinks": ("arlequin_core.sinks.cli:sinks_group", "Sink deliveries: dead letters and their replay."),
    "train": (
        "arlequin_core.training.cli:train_cmd",
        "Train a model on --data, log it to MLflow, register it and validate it against the champion.",
    ),
    "validate": (
        "arlequin_core.training.cli:validate_cmd",
        "Score a version and the champion on the same --data and compare them with [training] metric.",
    ),
    "promote": (
        "arlequin_core.training.cli:promote_cmd",
        "Move the `champion` alias to --version, by default the `challenger`.",
    ),
    "models": (
        "arlequin_core.training.cli:models_group",
        "List the registered model's versions, their aliases, status and held-out metrics.",
    ),
}


@hookimpl
def arlequin_register_commands(register: Register) -> None:
    """``config``, ``detect``, ``calibrate``, ``events``, ``history``, ``models``, ``plugins``, ``promote``,
    ``sinks``, ``train`` and ``validate``."""
    for name, (target, help_text) in COMMANDS.items():
        register(lazy(target, name=name, help=help_text))
