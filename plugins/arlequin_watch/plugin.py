"""Hook implementations of the ``watch`` plugin.

The sources are imported on first use (watchdog, fsspec); the commands are click
objects whose modules import the daemon's machinery inside the commands.
"""

from __future__ import annotations

from arlequin_core import hookimpl, lazy
from arlequin_core.hookspecs import Register


@hookimpl
def arlequin_register_sources(register: Register) -> None:
    """``local`` (inotify on a directory tree) and ``poll`` (any fsspec URI)."""
    register(lazy("arlequin_watch.local:LocalSource", name="local"))
    register(lazy("arlequin_watch.poll:PollSource", name="poll"))


@hookimpl
def arlequin_register_commands(register: Register) -> None:
    """``watch``, ``status``, ``retry`` and ``report``, named with their help: ``arlequin --help``
    lists them without importing :mod:`arlequin_watch.commands`."""
    for name, help_text in COMMANDS.items():
        register(lazy(f"arlequin_watch.commands:{name}_cmd", name=name, help=help_text))


#: name -> the first sentence of its help (tests/core/test_lazy_commands.py checks them).
COMMANDS = {
    "watch": "Watch for new batches and hand each to the drift monitor, once.",
    "status": "Show the watcher, the ledger's batches per state, the champion and the last events.",
    "retry": "Process BATCH again (an id, a unique id prefix, or the batch's path or URI).",
    "report": "Draw the HTML report of a checked batch now (one the watcher left without plots under a backlog).",
}
